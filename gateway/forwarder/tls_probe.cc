#include "tls_probe.h"

#include <netdb.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <array>
#include <memory>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace edge::gateway {
namespace {

std::string openssl_error(const std::string& what) {
  const unsigned long code = ERR_get_error();
  if (code == 0) {
    return what;
  }
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  ERR_clear_error();
  // "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed":
  // the last field says it.
  std::string message(text.data());
  const auto colon = message.rfind(':');
  return what + (what.empty() ? "" : ": ") +
         (colon == std::string::npos ? message : message.substr(colon + 1));
}

// ssl://host:port or ssl://[v6]:port -> host, port; false when it is neither.
bool split_uri(const std::string& uri, std::string& host, std::string& port) {
  const auto scheme = uri.find("://");
  const std::string rest = scheme == std::string::npos ? uri : uri.substr(scheme + 3);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  host = rest.substr(0, colon);
  port = rest.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return !host.empty() && !port.empty();
}

int connect_tcp(const std::string& host, const std::string& port, int timeout_ms,
                std::string& why) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    why = std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
    return -1;
  }
  const std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(found, ::freeaddrinfo);
  timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      continue;
    }
    // SO_SNDTIMEO also bounds connect(); SO_RCVTIMEO bounds the handshake's reads.
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      return fd;
    }
    ::close(fd);
  }
  why = "cannot connect to " + host + ":" + port;
  return -1;
}

}  // namespace

std::string tls_probe(const TlsProbeOptions& o) {
  ERR_clear_error();
  const std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_client_method()),
                                                         SSL_CTX_free);
  if (!ctx) {
    return openssl_error("cannot set up TLS");
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1) {
      return openssl_error("cannot load upstream.tls.ca_file " + o.ca_file);
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx.get());
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1) {
      return openssl_error("cannot load upstream.tls.cert_file " + o.cert_file);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return openssl_error("cannot load upstream.tls.key_file " + o.key_file);
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      return openssl_error("upstream.tls.key_file does not match upstream.tls.cert_file");
    }
  }
  SSL_CTX_set_verify(ctx.get(), o.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);

  std::string host;
  std::string port;
  if (!split_uri(o.uri, host, port)) {
    return "cannot read host and port from " + o.uri;
  }
  std::string why;
  const int fd = connect_tcp(host, port, o.timeout_ms, why);
  if (fd < 0) {
    return why;
  }
  const std::unique_ptr<SSL, void (*)(SSL*)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  in6_addr ip{};
  const bool is_ip =
      ::inet_pton(AF_INET, host.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, host.c_str(), &ip) == 1;
  if (o.verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
  }
  if (!is_ip) {
    // SSL_set_tlsext_host_name, without the macro's C cast.
    SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  }
  std::string result;
  if (SSL_connect(ssl.get()) != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    result = verify != X509_V_OK ? std::string("certificate verify failed: ") +
                                       X509_verify_cert_error_string(verify)
                                 : openssl_error("handshake failed");
  } else {
    // A TLS 1.3 server checks the client certificate after the handshake: wait for its alert.
    std::array<char, 1> byte{};
    if (SSL_read(ssl.get(), byte.data(), 1) <= 0 && ERR_peek_error() != 0) {
      result = openssl_error("the broker ended the session");
    }
  }
  ERR_clear_error();
  ::close(fd);
  return result;
}

}  // namespace edge::gateway
