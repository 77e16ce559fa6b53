// Why a TLS connection to the broker fails, in OpenSSL's words. Paho C reports only "TCP/TLS
// connect failure"; the forwarder then runs this probe once (off the loop thread) with the same
// CA file, client certificate and verification, and logs the reason. Private to the forwarder.
#pragma once

#include <string>

namespace edge::gateway {

struct TlsProbeOptions {
  std::string uri;  // ssl://host:port
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool verify = true;
  int timeout_ms = 3000;  // bounds the TCP connect, the handshake and the wait for an alert
};

/// Performs a TLS 1.2+ handshake and waits briefly for an alert (a TLS 1.3 server refuses a
/// missing client certificate only after the handshake). Returns "" when the handshake holds,
/// else the reason, e.g. "certificate verify failed: unable to get local issuer certificate",
/// "cannot load upstream.tls.ca_file: ...", "tlsv13 alert certificate required".
std::string tls_probe(const TlsProbeOptions& options);

}  // namespace edge::gateway
