#include "edge/gateway/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "config_rules.h"

namespace edge::gateway {
namespace {

constexpr const char* kFile = "gw.toml";

GatewayConfig parse_ok(const std::string& text) {
  auto result = parse_config(text, kFile);
  if (const auto* error = std::get_if<ConfigError>(&result)) {
    ADD_FAILURE() << "unexpected " << error->to_string() << "\nfor:\n" << text;
    return {};
  }
  return std::get<GatewayConfig>(std::move(result));
}

ConfigError parse_error(const std::string& text) {
  auto result = parse_config(text, kFile);
  if (std::holds_alternative<GatewayConfig>(result)) {
    ADD_FAILURE() << "parsed without error:\n" << text;
    return {};
  }
  return std::get<ConfigError>(std::move(result));
}

// A config that validates: one TCP source, everything else default.
GatewayConfig one_source() {
  GatewayConfig config;
  config.tcp.push_back(parse_ok("[[ingest.tcp]]\nlisten = \"127.0.0.1:7700\"\n").tcp.at(0));
  return config;
}

TEST(ConfigParse, EmptyFileKeepsEveryDefault) {
  const GatewayConfig config = parse_ok("");
  EXPECT_EQ(config.gateway_id, "edge-gateway");
  EXPECT_EQ(config.state_dir, "/var/lib/edge-gateway");
  EXPECT_EQ(config.log_level, "info");
  EXPECT_EQ(config.buffer_max_bytes, 256U * 1024U * 1024U);
  EXPECT_EQ(config.buffer_high_water_percent, 80U);
  EXPECT_EQ(config.buffer_full_policy, FullPolicy::kDropOldest);
  EXPECT_EQ(config.buffer_busy_retry_ms, 1000U);
  EXPECT_EQ(config.ingest_max_devices, 1024U);
  EXPECT_EQ(config.ingest_dedupe_window, 4096U);
  EXPECT_EQ(config.ingest_max_batch_events, 4096U);
  EXPECT_EQ(config.ingest_commit_linger_us, 0U);
  EXPECT_EQ(config.ingest_max_read_bytes, 65536U);
  EXPECT_EQ(config.ingest_max_connections, 256U);
  EXPECT_EQ(config.ingest_link_rate_events_s, 20000U);
  EXPECT_EQ(config.ingest_link_burst_ms, 1000U);
  EXPECT_EQ(config.ingest_auth_timeout_ms, 5000U);
  EXPECT_EQ(config.buffer_sync, BufferSync::kFull);
  EXPECT_TRUE(config.serial.empty());
  EXPECT_TRUE(config.tcp.empty());
  EXPECT_TRUE(config.unix_sockets.empty());
}

TEST(ConfigValidate, DefaultsWithoutSourceAreRefused) {
  const std::optional<ConfigError> error = validate_config(parse_ok(""), kFile);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->to_string(),
            "config error: gw.toml: key 'ingest': no sources: configure [[ingest.serial]], "
            "[[ingest.tcp]] or [[ingest.unix]]");
}

TEST(ConfigParse, FullConfigSetsEveryKey) {
  const GatewayConfig config = parse_ok(R"(
[gateway]
id = "site-7.gw_2"
state_dir = "/data/gw"
log_level = "debug"

[buffer]
max_bytes = "1GiB"
high_water_percent = 90
full_policy = "refuse_new"
busy_retry_ms = 250
sync = "no_meta_sync"

[ingest]
max_devices = 10
dedupe_window = 128
max_batch_events = 64
commit_linger_us = 500
max_read_bytes = 1024
max_connections = 8
link_rate_events_s = 500
link_burst_ms = 250
auth_timeout_ms = 2000

[[ingest.serial]]
path = "/dev/ttyUSB0"

[[ingest.serial]]
path = "/dev/ttyAMA0"
baud = 9600

[[ingest.tcp]]
listen = "192.0.2.10:7700"
token_file = "/etc/edge-gateway/ingest.token"

[[ingest.tcp]]
listen = "[::1]:7701"

[[ingest.unix]]
path = "/run/edge/ingest.sock"
)");
  EXPECT_EQ(config.gateway_id, "site-7.gw_2");
  EXPECT_EQ(config.state_dir, "/data/gw");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.buffer_max_bytes, 1ULL << 30U);
  EXPECT_EQ(config.buffer_high_water_percent, 90U);
  EXPECT_EQ(config.buffer_full_policy, FullPolicy::kRefuseNew);
  EXPECT_EQ(config.buffer_busy_retry_ms, 250U);
  EXPECT_EQ(config.ingest_max_devices, 10U);
  EXPECT_EQ(config.ingest_dedupe_window, 128U);
  EXPECT_EQ(config.ingest_max_batch_events, 64U);
  EXPECT_EQ(config.ingest_commit_linger_us, 500U);
  EXPECT_EQ(config.ingest_max_read_bytes, 1024U);
  EXPECT_EQ(config.ingest_max_connections, 8U);
  EXPECT_EQ(config.ingest_link_rate_events_s, 500U);
  EXPECT_EQ(config.ingest_link_burst_ms, 250U);
  EXPECT_EQ(config.ingest_auth_timeout_ms, 2000U);
  EXPECT_EQ(config.buffer_sync, BufferSync::kNoMetaSync);
  ASSERT_EQ(config.serial.size(), 2U);
  EXPECT_EQ(config.serial[0].path, "/dev/ttyUSB0");
  EXPECT_EQ(config.serial[0].baud, 115200U);
  EXPECT_EQ(config.serial[1].path, "/dev/ttyAMA0");
  EXPECT_EQ(config.serial[1].baud, 9600U);
  ASSERT_EQ(config.tcp.size(), 2U);
  EXPECT_EQ(config.tcp[0].host, "192.0.2.10");
  EXPECT_EQ(config.tcp[0].port, 7700U);
  EXPECT_EQ(config.tcp[0].token_file, "/etc/edge-gateway/ingest.token");
  EXPECT_EQ(config.tcp[1].host, "::1");
  EXPECT_EQ(config.tcp[1].port, 7701U);
  EXPECT_EQ(config.tcp[1].token_file, "");
  ASSERT_EQ(config.unix_sockets.size(), 1U);
  EXPECT_EQ(config.unix_sockets[0].path, "/run/edge/ingest.sock");
  EXPECT_EQ(validate_config(config, kFile), std::nullopt);
}

TEST(ConfigParse, MaxBytesTakesSizeStringsAndIntegers) {
  EXPECT_EQ(parse_ok("buffer.max_bytes = \"256MiB\"").buffer_max_bytes, 256ULL << 20U);
  EXPECT_EQ(parse_ok("buffer.max_bytes = \"1GiB\"").buffer_max_bytes, 1ULL << 30U);
  EXPECT_EQ(parse_ok("buffer.max_bytes = \"2048KiB\"").buffer_max_bytes, 2048ULL << 10U);
  EXPECT_EQ(parse_ok("buffer.max_bytes = 1048576").buffer_max_bytes, 1048576U);
  EXPECT_EQ(parse_ok("buffer.max_bytes = \"1TiB\"").buffer_max_bytes, 1ULL << 40U);
}

TEST(ConfigParse, MaxBytesOutsideOneMiBToOneTiBIsRefused) {
  const std::string allowed = "must be 1MiB..1TiB (1048576..1099511627776 bytes), got ";
  EXPECT_EQ(parse_error("buffer.max_bytes = \"512KiB\"").message, allowed + "524288");
  EXPECT_EQ(parse_error("buffer.max_bytes = 1048575").message, allowed + "1048575");
  EXPECT_EQ(parse_error("buffer.max_bytes = \"1025GiB\"").message, allowed + "1100585369600");
  EXPECT_EQ(parse_error("buffer.max_bytes = -1").message, allowed + "-1");
  const ConfigError error = parse_error("buffer.max_bytes = \"12XB\"");
  EXPECT_EQ(error.key, "buffer.max_bytes");
  EXPECT_EQ(error.message,
            "expected a size like \"256MiB\" (suffix B, KiB, MiB, GiB or TiB), got \"12XB\"");
}

TEST(ParseSize, ReadsDigitsAndBinarySuffixes) {
  EXPECT_EQ(parse_size("0"), 0U);
  EXPECT_EQ(parse_size("4096"), 4096U);
  EXPECT_EQ(parse_size("7B"), 7U);
  EXPECT_EQ(parse_size("512KiB"), 512U * 1024U);
  EXPECT_EQ(parse_size("3MiB"), 3U * 1024U * 1024U);
  EXPECT_EQ(parse_size("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_size("16777215TiB"), 16777215ULL << 40U);
}

TEST(ParseSize, RefusesWhatItCannotReadExactly) {
  for (const char* text : {"", "MiB", "-1", "+1", " 1MiB", "1 MiB", "1mib", "1MB", "1.5GiB",
                           "18446744073709551616", "16777216TiB"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << text;
  }
}

TEST(ConfigParse, WrongTypeNamesKeyFileAndBothTypes) {
  const ConfigError error = parse_error("[buffer]\nmax_bytes = true\n");
  EXPECT_EQ(error.file, "gw.toml");
  EXPECT_EQ(error.key, "buffer.max_bytes");
  EXPECT_EQ(error.line, 2U);
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:2:13: key 'buffer.max_bytes': expected an integer or a size "
            "string like \"256MiB\", found a boolean");

  const ConfigError integer = parse_error("[ingest]\nmax_devices = \"10\"\n");
  EXPECT_EQ(integer.key, "ingest.max_devices");
  EXPECT_EQ(integer.message, "expected an integer, found a string");

  EXPECT_EQ(parse_error("buffer.busy_retry_ms = 1.5").message,
            "expected an integer, found a float");
  EXPECT_EQ(parse_error("gateway.id = 7").message, "expected a string, found an integer");
  EXPECT_EQ(parse_error("gateway = 5").message, "expected a table, found an integer");

  const ConfigError array = parse_error("[ingest.tcp]\nlisten = \"h:1\"\n");
  EXPECT_EQ(array.key, "ingest.tcp");
  EXPECT_EQ(array.message, "expected an array of tables ([[ingest.tcp]]), found a table");

  const ConfigError element = parse_error("[ingest]\nserial = [\"/dev/ttyUSB0\"]\n");
  EXPECT_EQ(element.key, "ingest.serial[0]");
  EXPECT_EQ(element.message, "expected a table, found a string");
}

TEST(ConfigParse, UnknownKeyIsAnErrorNotADefault) {
  const ConfigError error = parse_error("[buffer]\nhigh_water_percent = 70\nmax_byts = 5\n");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:3:12: key 'buffer.max_byts': unknown key (expected one of: "
            "max_bytes, high_water_percent, full_policy, busy_retry_ms, sync)");
}

TEST(ConfigParse, UnknownTableIsAnError) {
  const ConfigError error = parse_error("[buffers]\nmax_bytes = 5\n");
  EXPECT_EQ(error.key, "buffers");
  EXPECT_EQ(error.message,
            "unknown table (expected one of: gateway, buffer, ingest, upstream, metrics)");
  EXPECT_EQ(parse_error("[ingest.udp]\n").key, "ingest.udp");
  EXPECT_EQ(parse_error("[[buffers]]\n").message,
            "unknown table (expected one of: gateway, buffer, ingest, upstream, metrics)");
}

TEST(ConfigParse, UnknownKeyInSecondSourceNamesItsIndex) {
  const ConfigError error =
      parse_error("[[ingest.tcp]]\nlisten = \"127.0.0.1:1\"\n[[ingest.tcp]]\nlisen = \"h:2\"\n");
  EXPECT_EQ(error.key, "ingest.tcp[1].lisen");
  EXPECT_EQ(error.message, "unknown key (expected one of: listen, token_file)");
  EXPECT_EQ(error.line, 4U);
}

TEST(ConfigParse, HighWaterPercentAbove99IsRefused) {
  const ConfigError error = parse_error("[buffer]\nhigh_water_percent = 100\n");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:2:22: key 'buffer.high_water_percent': must be 1..99, got 100");
}

// Every integer key: both bounds accepted, one past each refused with the range in the message
// and the key's line and column. `extra` is written after the key in the same table (another
// key a bound needs to pass the cross-field rules); `or_zero`: 0 is allowed below `min`.
struct Bound {
  const char* key;
  std::int64_t min;
  std::int64_t max;
  const char* extra = "";
  bool or_zero = false;
};

void PrintTo(const Bound& bound, std::ostream* out) {
  *out << bound.key;
}

class IntegerBounds : public ::testing::TestWithParam<Bound> {};

TEST_P(IntegerBounds, AcceptsBoundsAndRefusesOnePast) {
  const Bound bound = GetParam();
  const std::string key = bound.key;
  const std::size_t dot = key.rfind('.');
  const std::string name = key.substr(dot + 1);
  const auto text = [&](std::int64_t value) {
    return "[" + key.substr(0, dot) + "]\n" + name + " = " + std::to_string(value) + "\n" +
           bound.extra;
  };
  std::string range = std::to_string(bound.min) + ".." + std::to_string(bound.max);
  const bool step = key == "ingest.dedupe_window";
  if (step) {
    range = "a multiple of 64 in " + range;
  }
  if (bound.or_zero) {
    range = "0 or " + range;
  }
  const std::int64_t past = step ? 64 : 1;
  std::vector<std::int64_t> accepted{bound.min, bound.max};
  std::vector<std::int64_t> refused{bound.max + past};
  if (!bound.or_zero || bound.min - past != 0) {  // "0 or 1..N": 0 is accepted
    refused.push_back(bound.min - past);
  }
  if (bound.or_zero) {
    accepted.push_back(0);
    refused.push_back(-1);
  }
  for (const std::int64_t value : accepted) {
    parse_ok(text(value));
  }
  for (const std::int64_t value : refused) {
    const ConfigError error = parse_error(text(value));
    EXPECT_EQ(error.key, key);
    EXPECT_EQ(error.line, 2U);
    EXPECT_EQ(error.column, name.size() + 4U);
    EXPECT_EQ(error.message, "must be " + range + ", got " + std::to_string(value));
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllKeys, IntegerBounds,
    ::testing::Values(
        Bound{"buffer.high_water_percent", 1, 99}, Bound{"buffer.busy_retry_ms", 1, 600000},
        Bound{"ingest.max_devices", 1, 1000000}, Bound{"ingest.dedupe_window", 64, 1048576},
        Bound{"ingest.max_batch_events", 1, 1000000}, Bound{"ingest.commit_linger_us", 0, 1000000},
        Bound{"ingest.max_read_bytes", 256, 16777216}, Bound{"ingest.max_connections", 1, 65536},
        Bound{"ingest.link_rate_events_s", 1, 10000000, "", true},
        Bound{"ingest.link_burst_ms", 1, 60000}, Bound{"ingest.auth_timeout_ms", 100, 60000},
        Bound{"upstream.max_in_flight", 1, 65535},
        Bound{"upstream.keep_alive_s", 5, 65535, "", true},
        Bound{"upstream.session_expiry_s", 0, 4294967295},
        Bound{"upstream.backoff_min_ms", 1, 600000, "backoff_max_ms = 600000\n"},
        Bound{"upstream.backoff_max_ms", 1, 3600000, "backoff_min_ms = 1\n"},
        Bound{"upstream.batch_max_bytes", 512, 131072}, Bound{"upstream.batch_linger_ms", 0, 60000},
        Bound{"upstream.status_interval_s", 0, 86400},
        Bound{"upstream.drain_rate_events_s", 1, 10000000, "", true},
        Bound{"upstream.drain_rate_bytes_s", 1, 4294967295, "", true},
        Bound{"upstream.drain_burst_ms", 1, 60000},
        Bound{"upstream.message_expiry_s", 1, 31536000, "", true}),
    [](const ::testing::TestParamInfo<Bound>& param_info) {
      std::string name = param_info.param.key;
      std::ranges::replace(name, '.', '_');
      return name;
    });

TEST(ConfigParse, DedupeWindowMustBeAMultipleOf64) {
  EXPECT_EQ(parse_error("ingest.dedupe_window = 100").message,
            "must be a multiple of 64 in 64..1048576, got 100");
}

// 2^32 + 1 would wrap to 1 (a valid value) if narrowed before the range check.
TEST(ConfigParse, IntegerPast32BitsIsRefusedNotWrapped) {
  EXPECT_EQ(parse_error("ingest.max_devices = 4294967297").message,
            "must be 1..1000000, got 4294967297");
  EXPECT_EQ(parse_error("ingest.max_connections = -4294967295").message,
            "must be 1..65536, got -4294967295");
}

TEST(ConfigParse, FullPolicyMustBeKnown) {
  EXPECT_EQ(parse_ok("buffer.full_policy = \"drop_oldest\"").buffer_full_policy,
            FullPolicy::kDropOldest);
  const ConfigError error = parse_error("buffer.full_policy = \"drop_newest\"");
  EXPECT_EQ(error.key, "buffer.full_policy");
  EXPECT_EQ(error.message, "must be drop_oldest or refuse_new; got \"drop_newest\"");
  EXPECT_EQ(to_string(FullPolicy::kRefuseNew), "refuse_new");
}

TEST(ConfigParse, GatewayStrings) {
  EXPECT_EQ(parse_ok("gateway.id = \"" + std::string(64, 'a') + "\"").gateway_id,
            std::string(64, 'a'));
  const std::string id_rule = "must be 1..64 characters from [A-Za-z0-9._-], got ";
  EXPECT_EQ(parse_error("gateway.id = \"" + std::string(65, 'a') + "\"").message,
            id_rule + "\"" + std::string(65, 'a') + "\"");
  EXPECT_EQ(parse_error("gateway.id = \"a b\"").message, id_rule + "\"a b\"");
  EXPECT_EQ(parse_error("gateway.id = \"\"").message, id_rule + "\"\"");
  EXPECT_EQ(parse_error("gateway.id = \"a\\nb\"").message, id_rule + "\"a\\x0ab\"");
  EXPECT_EQ(parse_error("gateway.state_dir = \"\"").message, "must not be empty");
  const ConfigError level = parse_error("gateway.log_level = \"verbose\"");
  EXPECT_EQ(level.key, "gateway.log_level");
  EXPECT_EQ(level.message, "must be one of trace, debug, info, warn, error; got \"verbose\"");
}

TEST(ConfigParse, TcpListenMustBeHostColonPort) {
  const auto listen_error = [](const std::string& listen) {
    return parse_error("[[ingest.tcp]]\nlisten = \"" + listen + "\"\n");
  };
  const ConfigError error = listen_error("nohost");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:2:10: key 'ingest.tcp[0].listen': expected \"host:port\" "
            "(IPv6 as \"[::1]:7700\"), got \"nohost\"");
  EXPECT_EQ(listen_error(":7700").message, "host must not be empty, got \":7700\"");
  EXPECT_EQ(listen_error("[]:7700").message, "host must not be empty, got \"[]:7700\"");
  EXPECT_EQ(listen_error("h:0").message, "port must be 1..65535, got \"h:0\"");
  EXPECT_EQ(listen_error("h:65536").message, "port must be 1..65535, got \"h:65536\"");
  EXPECT_EQ(listen_error("h:").message, "port must be 1..65535, got \"h:\"");
  EXPECT_EQ(listen_error("h:+80").message, "port must be 1..65535, got \"h:+80\"");
  EXPECT_EQ(listen_error("::1:7700").message,
            "an IPv6 host needs brackets, as in \"[::1]:7700\"; got \"::1:7700\"");
  EXPECT_EQ(listen_error("[::1]7700").message, "expected \"[v6-host]:port\", got \"[::1]7700\"");

  const GatewayConfig config = parse_ok("[[ingest.tcp]]\nlisten = \"127.0.0.2:65535\"\n");
  ASSERT_EQ(config.tcp.size(), 1U);
  EXPECT_EQ(config.tcp[0].host, "127.0.0.2");
  EXPECT_EQ(config.tcp[0].port, 65535U);
}

// Issue 9: ingest listeners bind loopback, or one interface's address behind a shared token.
TEST(ConfigListenRule, LoopbackAddressesNeedNoToken) {
  for (const char* listen :
       {"127.0.0.1:7700", "127.8.9.10:7700", "[::1]:7700", "[::ffff:127.0.0.1]:7700"}) {
    const GatewayConfig config =
        parse_ok(std::string("[[ingest.tcp]]\nlisten = \"") + listen + "\"\n");
    ASSERT_EQ(config.tcp.size(), 1U) << listen;
    EXPECT_EQ(config.tcp[0].token_file, "");
    EXPECT_EQ(validate_config(config, kFile), std::nullopt) << listen;
  }
}

TEST(ConfigListenRule, WildcardsAreRefusedEvenWithAToken) {
  for (const char* listen :
       {"0.0.0.0:7700", "[::]:7700", "[0:0:0:0:0:0:0:0]:7700", "[::ffff:0.0.0.0]:7700"}) {
    for (const char* token : {"", "token_file = \"/etc/edge-gateway/ingest.token\"\n"}) {
      const ConfigError error =
          parse_error(std::string("[[ingest.tcp]]\nlisten = \"") + listen + "\"\n" + token);
      EXPECT_EQ(error.key, "ingest.tcp[0].listen") << listen;
      EXPECT_EQ(error.line, 2U) << listen;
      EXPECT_NE(error.message.find("bind the address of the interface the devices are on"),
                std::string::npos)
          << error.message;
    }
  }
  // The error names the index of the listener it is about, like every other key.
  const ConfigError second = parse_error(
      "[[ingest.tcp]]\nlisten = \"127.0.0.1:7700\"\n[[ingest.tcp]]\nlisten = \"0.0.0.0:7701\"\n");
  EXPECT_EQ(second.to_string(),
            "config error: gw.toml:4:10: key 'ingest.tcp[1].listen': \"0.0.0.0:7701\" listens on "
            "every interface; bind the address of the interface the devices are on (with a "
            "token_file), or a loopback address");
}

TEST(ConfigListenRule, AnInterfaceAddressNeedsATokenFile) {
  const ConfigError error = parse_error("[[ingest.tcp]]\nlisten = \"192.0.2.10:7700\"\n");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:2:10: key 'ingest.tcp[0].listen': \"192.0.2.10:7700\" is not "
            "a loopback address; a listener reachable from other hosts needs a token_file (the "
            "shared token every connection must send first)");
  EXPECT_EQ(parse_error("[[ingest.tcp]]\nlisten = \"[2001:db8::7]:7700\"\n").key,
            "ingest.tcp[0].listen");
  // token_file may come before listen in the table: the rule is between the two keys.
  const GatewayConfig config =
      parse_ok("[[ingest.tcp]]\ntoken_file = \"/etc/t\"\nlisten = \"[2001:db8::7]:7700\"\n");
  EXPECT_EQ(config.tcp.at(0).host, "2001:db8::7");
  EXPECT_EQ(config.tcp.at(0).token_file, "/etc/t");
  EXPECT_EQ(validate_config(config, kFile), std::nullopt);
  // A token on a loopback listener is allowed too (a local agent that must authenticate).
  EXPECT_EQ(parse_ok("[[ingest.tcp]]\nlisten = \"127.0.0.1:1\"\ntoken_file = \"/etc/t\"\n")
                .tcp.at(0)
                .token_file,
            "/etc/t");
}

TEST(ConfigListenRule, HostNamesAreRefused) {
  for (const char* listen : {"localhost:7700", "gw.local:7700", "h:1"}) {
    const ConfigError error =
        parse_error(std::string("[[ingest.tcp]]\nlisten = \"") + listen + "\"\n");
    EXPECT_EQ(error.key, "ingest.tcp[0].listen") << listen;
    EXPECT_NE(error.message.find("not a host name"), std::string::npos) << error.message;
  }
}

TEST(ConfigListenRule, TokenFileMustNotBeEmptyOrAnotherType) {
  const ConfigError empty =
      parse_error("[[ingest.tcp]]\nlisten = \"127.0.0.1:1\"\ntoken_file = \"\"\n");
  EXPECT_EQ(empty.key, "ingest.tcp[0].token_file");
  EXPECT_EQ(empty.message, "must not be empty");
  EXPECT_EQ(parse_error("[[ingest.tcp]]\nlisten = \"127.0.0.1:1\"\ntoken_file = 5\n").message,
            "expected a string, found an integer");
}

// validate_config applies the same rule to listeners set after parsing (the daemon's --tcp goes
// through parse_config too: edge-gatewayd --tcp 0.0.0.0:7700 is refused the same way).
TEST(ConfigListenRule, ValidateRechecksIt) {
  GatewayConfig config = one_source();
  config.tcp[0].host = "0.0.0.0";
  std::optional<ConfigError> error = validate_config(config, kFile);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->key, "ingest.tcp[0].listen");
  config.tcp[0].host = "10.1.2.3";
  error = validate_config(config, kFile);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->message.find("needs a token_file"), std::string::npos);
  config.tcp[0].token_file = "/etc/t";
  EXPECT_EQ(validate_config(config, kFile), std::nullopt);
}

TEST(ConfigBufferSync, NamesAndDefault) {
  EXPECT_EQ(parse_ok("buffer.sync = \"full\"").buffer_sync, BufferSync::kFull);
  EXPECT_EQ(parse_ok("buffer.sync = \"no_meta_sync\"").buffer_sync, BufferSync::kNoMetaSync);
  EXPECT_EQ(parse_ok("buffer.sync = \"no_sync\"").buffer_sync, BufferSync::kNoSync);
  EXPECT_EQ(to_string(BufferSync::kFull), "full");
  EXPECT_EQ(to_string(BufferSync::kNoMetaSync), "no_meta_sync");
  EXPECT_EQ(to_string(BufferSync::kNoSync), "no_sync");
  const ConfigError error = parse_error("[buffer]\nsync = \"nosync\"\n");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:2:8: key 'buffer.sync': must be \"full\", \"no_meta_sync\" or "
            "\"no_sync\"; got \"nosync\"");
  EXPECT_EQ(parse_error("[buffer]\nsync = false\n").message,
            "expected a string (\"full\", \"no_meta_sync\" or \"no_sync\"), found a boolean");
}

TEST(ConfigParse, SourceWithoutItsRequiredKeyIsRefused) {
  const ConfigError error = parse_error("[[ingest.serial]]\nbaud = 9600\n");
  EXPECT_EQ(error.key, "ingest.serial[0].path");
  EXPECT_EQ(error.message, "required key missing");
  EXPECT_EQ(parse_error("[[ingest.tcp]]\n").key, "ingest.tcp[0].listen");
  EXPECT_EQ(parse_error("[[ingest.unix]]\n").key, "ingest.unix[0].path");
}

TEST(ConfigParse, BaudMustBeAStandardRate) {
  const ConfigError error = parse_error("[[ingest.serial]]\npath = \"/dev/ttyS0\"\nbaud = 1234\n");
  EXPECT_EQ(error.key, "ingest.serial[0].baud");
  EXPECT_EQ(error.message,
            "must be one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, "
            "921600; got 1234");
  EXPECT_EQ(error.line, 3U);
  EXPECT_EQ(parse_ok("[[ingest.serial]]\npath = \"/dev/ttyS0\"\nbaud = 921600\n").serial[0].baud,
            921600U);
}

TEST(ConfigParse, UnixPathMustFitSunPath) {
  const std::string fits = "/" + std::string(106, 'p');  // 107 bytes + NUL = sizeof(sun_path)
  EXPECT_EQ(parse_ok("[[ingest.unix]]\npath = \"" + fits + "\"\n").unix_sockets[0].path, fits);
  const ConfigError error = parse_error("[[ingest.unix]]\npath = \"" + fits + "p\"\n");
  EXPECT_EQ(error.key, "ingest.unix[0].path");
  EXPECT_EQ(error.message, "must be shorter than 108 bytes (the sun_path limit), got 108 bytes");
}

TEST(ConfigParse, TomlSyntaxErrorHasLineAndNoKey) {
  const ConfigError error = parse_error("[gateway]\nid = \"gw\"\nlog_level = \n");
  EXPECT_EQ(error.file, "gw.toml");
  EXPECT_EQ(error.key, "");
  EXPECT_EQ(error.line, 3U);
  EXPECT_FALSE(error.message.empty());
  EXPECT_EQ(error.to_string().rfind("config error: gw.toml:3:", 0), 0U) << error.to_string();
}

// Found by tests/fuzz/gateway_config_fuzz: toml++ 3.3.0 asserts on these table headers instead
// of reporting a syntax error, so a build without NDEBUG (host-asan) aborted on them.
TEST(ConfigParse, TableHeadersThatTripTomlppsAssertionAreSyntaxErrors) {
  for (const char* text : {"[[[1]]]\n", "[\x19]\n", "[[=\n", "[[[]]\n"}) {
    const ConfigError error = parse_error(text);
    EXPECT_EQ(error.file, "gw.toml");
    EXPECT_EQ(error.key, "");
    EXPECT_FALSE(error.message.empty()) << text;
  }
}

// Found by tests/fuzz/gateway_config_fuzz: toml++ 3.3.0 reaches __builtin_unreachable() on a
// non-ASCII character outside a string or comment (and after a line-ending backslash in a """
// string): undefined behaviour in every build. Such text is refused before toml++ sees it.
TEST(ConfigParse, NonAsciiOutsideStringsIsRefusedBeforeTomlppSeesIt) {
  for (const char* text : {"[[ingest.tcp]]\nlist\xef\xbb\xba = 1\n", "a = 1 \xc3\xa9\n", "\xcc\xaa",
                           "s = \"\"\"\\\n\xc2\xa7\"\"\"\n", " \"\"\"\"\\\xc2\xa7\"\x02\"",
                           // A quote inside a bare value opens no string: toml++ reads on.
                           "i=0dds=\"\xef\xb4\xbf\x65\x64", "a = [1\"\xc3\xa9\"]\n"}) {
    const ConfigError error = parse_error(text);
    EXPECT_EQ(error.key, "");
    EXPECT_NE(error.message.find("non-ASCII"), std::string::npos) << error.to_string();
    EXPECT_GT(error.line, 0U);
  }
  const ConfigError where = parse_error("# caf\xc3\xa9\n[gateway]\nid = \"gw\" \xc2\xa0\n");
  EXPECT_EQ(where.line, 3U);
  EXPECT_EQ(where.column, 11U);
}

TEST(ConfigParse, NonAsciiInStringsInArraysAndInlineTablesPassesTheCheck) {
  for (const char* text :
       {"a = [\"\xc3\xa9\", {b = \"\xc3\xa9\", \"c\" = '\xc3\xa9'}]\n",
        "a = [\n  1,\n  \"\xc3\xa9\",\n]\n", "[\"\xc3\xa9\".b]\n", "a.\"\xc3\xa9\" = 1\n"}) {
    const ConfigError error = parse_error(text);
    EXPECT_EQ(error.message.find("non-ASCII"), std::string::npos) << error.to_string();
  }
}

TEST(ConfigParse, NonAsciiInStringsAndCommentsIsStillAccepted) {
  const GatewayConfig config = parse_ok(
      "# Gr\xc3\xb6\xc3\x9f"
      "e: caf\xc3\xa9\n[gateway]\nstate_dir = \"/var/lib/caf\xc3\xa9\"  # \xc2\xa7\n"
      "[upstream]\ntopic_prefix = '\xc3\xa9"
      "dge'\nusername = \"\"\"\nJ\xc3\xbcrgen\"\"\"\n");
  EXPECT_EQ(config.state_dir, "/var/lib/caf\xc3\xa9");
  EXPECT_EQ(config.upstream.topic_prefix,
            "\xc3\xa9"
            "dge");
  EXPECT_EQ(config.upstream.username, "J\xc3\xbcrgen");
}

TEST(ConfigValidate, RechecksBoundsAfterOverrides) {
  GatewayConfig config = one_source();
  EXPECT_EQ(validate_config(config, kFile), std::nullopt);
  config.buffer_high_water_percent = 100;
  const std::optional<ConfigError> error = validate_config(config, kFile);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->to_string(),
            "config error: gw.toml: key 'buffer.high_water_percent': must be 1..99, got 100");

  config = one_source();
  config.tcp.push_back(config.tcp[0]);
  config.tcp[1].port = 0;
  EXPECT_EQ(validate_config(config, kFile)->key, "ingest.tcp[1].listen");
  config = one_source();
  config.buffer_max_bytes = 1;
  EXPECT_EQ(validate_config(config, kFile)->key, "buffer.max_bytes");
}

TEST(ConfigValidate, DuplicateSourcesAreRefused) {
  GatewayConfig serial = one_source();
  serial.serial = {{"/dev/ttyUSB0", 9600}, {"/dev/ttyUSB1", 9600}, {"/dev/ttyUSB0", 115200}};
  const std::optional<ConfigError> error = validate_config(serial, kFile);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->key, "ingest.serial[2].path");
  EXPECT_EQ(error->message, "duplicate of ingest.serial[0].path (\"/dev/ttyUSB0\")");

  const GatewayConfig tcp = parse_ok(
      "[[ingest.tcp]]\nlisten = \"[::1]:7700\"\n[[ingest.tcp]]\nlisten = \"[::1]:7700\"\n");
  EXPECT_EQ(validate_config(tcp, kFile)->message,
            "duplicate of ingest.tcp[0].listen (\"[::1]:7700\")");

  GatewayConfig unix_sockets;
  unix_sockets.unix_sockets = {{"/run/a.sock"}, {"/run/a.sock"}};
  EXPECT_EQ(validate_config(unix_sockets, kFile)->key, "ingest.unix[1].path");
}

// ---- [upstream] and [upstream.tls] ----

// A config with one source whose [upstream] table is `upstream_lines`.
std::string with_upstream(const std::string& upstream_lines) {
  return "[upstream]\n" + upstream_lines;
}

ConfigError upstream_error(const std::string& upstream_lines) {
  return parse_error(with_upstream(upstream_lines));
}

TEST(ConfigUpstream, DefaultsWhenTheTableIsAbsent) {
  const UpstreamConfig upstream = parse_ok("[gateway]\nid = \"gw\"\n").upstream;
  EXPECT_EQ(upstream.uri, "");
  EXPECT_EQ(upstream.client_id, "");
  EXPECT_EQ(upstream.protocol, MqttProtocol::kV5);
  EXPECT_EQ(upstream.topic_prefix, "edge");
  EXPECT_EQ(upstream.topic, "{prefix}/{gateway}/{device}/{sensor}");
  EXPECT_EQ(upstream.payload, PayloadMode::kFlatbuffer);
  EXPECT_EQ(upstream.max_in_flight, 20U);
  EXPECT_EQ(upstream.keep_alive_s, 30U);
  EXPECT_TRUE(upstream.clean_start);
  EXPECT_EQ(upstream.session_expiry_s, 0U);
  EXPECT_EQ(upstream.backoff_min_ms, 100U);
  EXPECT_EQ(upstream.backoff_max_ms, 30000U);
  EXPECT_EQ(upstream.batch_max_bytes, 5000U);
  EXPECT_EQ(upstream.batch_linger_ms, 50U);
  EXPECT_EQ(upstream.status_interval_s, 60U);
  EXPECT_EQ(upstream.username, "");
  EXPECT_EQ(upstream.password_file, "");
  EXPECT_EQ(upstream.tls_ca_file, "");
  EXPECT_EQ(upstream.tls_cert_file, "");
  EXPECT_EQ(upstream.tls_key_file, "");
  EXPECT_TRUE(upstream.tls_verify);
  GatewayConfig config = one_source();
  config.upstream = upstream;
  EXPECT_EQ(validate_config(config, kFile), std::nullopt);
  // An empty table is the same as none.
  EXPECT_EQ(parse_ok("[upstream]\n").upstream.topic, upstream.topic);
}

TEST(ConfigUpstream, FullExampleSetsEveryKey) {
  GatewayConfig config = parse_ok(R"(
[[ingest.tcp]]
listen = "127.0.0.1:7700"

[upstream]
uri = "mqtts://broker.example.com:8883"
client_id = "site-7.gw_2"
protocol = "3.1.1"
topic_prefix = "plant/line-1"
topic = "{prefix}/gw/{gateway}/dev/{device}/{sensor}"
payload = "batch"
max_in_flight = 100
keep_alive_s = 0
clean_start = false
session_expiry_s = 0
backoff_min_ms = 250
backoff_max_ms = 60000
batch_max_bytes = 4096
batch_linger_ms = 200
status_interval_s = 0
username = "gw-7"
password_file = "/etc/edge-gateway/mqtt.password"

[upstream.tls]
ca_file = "/etc/edge-gateway/ca.pem"
cert_file = "/etc/edge-gateway/client.pem"
key_file = "/etc/edge-gateway/client.key"
verify = false
)");
  const UpstreamConfig& upstream = config.upstream;
  EXPECT_EQ(upstream.uri, "mqtts://broker.example.com:8883");
  EXPECT_EQ(upstream.client_id, "site-7.gw_2");
  EXPECT_EQ(upstream.protocol, MqttProtocol::kV311);
  EXPECT_EQ(upstream.topic_prefix, "plant/line-1");
  EXPECT_EQ(upstream.topic, "{prefix}/gw/{gateway}/dev/{device}/{sensor}");
  EXPECT_EQ(upstream.payload, PayloadMode::kBatch);
  EXPECT_EQ(upstream.max_in_flight, 100U);
  EXPECT_EQ(upstream.keep_alive_s, 0U);
  EXPECT_FALSE(upstream.clean_start);
  EXPECT_EQ(upstream.session_expiry_s, 0U);
  EXPECT_EQ(upstream.backoff_min_ms, 250U);
  EXPECT_EQ(upstream.backoff_max_ms, 60000U);
  EXPECT_EQ(upstream.batch_max_bytes, 4096U);
  EXPECT_EQ(upstream.batch_linger_ms, 200U);
  EXPECT_EQ(upstream.status_interval_s, 0U);
  EXPECT_EQ(upstream.username, "gw-7");
  EXPECT_EQ(upstream.password_file, "/etc/edge-gateway/mqtt.password");
  EXPECT_EQ(upstream.tls_ca_file, "/etc/edge-gateway/ca.pem");
  EXPECT_EQ(upstream.tls_cert_file, "/etc/edge-gateway/client.pem");
  EXPECT_EQ(upstream.tls_key_file, "/etc/edge-gateway/client.key");
  EXPECT_FALSE(upstream.tls_verify);
  EXPECT_EQ(validate_config(config, kFile), std::nullopt);
}

TEST(ConfigUpstream, ProtocolAndPayloadNames) {
  EXPECT_EQ(parse_ok(with_upstream("protocol = \"5\"\n")).upstream.protocol, MqttProtocol::kV5);
  EXPECT_EQ(parse_ok(with_upstream("protocol = \"3.1.1\"\n")).upstream.protocol,
            MqttProtocol::kV311);
  EXPECT_EQ(parse_ok(with_upstream("payload = \"flatbuffer\"\n")).upstream.payload,
            PayloadMode::kFlatbuffer);
  EXPECT_EQ(parse_ok(with_upstream("payload = \"json\"\n")).upstream.payload, PayloadMode::kJson);
  EXPECT_EQ(parse_ok(with_upstream("payload = \"batch\"\n")).upstream.payload, PayloadMode::kBatch);

  const ConfigError protocol = upstream_error("protocol = \"4\"\n");
  EXPECT_EQ(protocol.to_string(),
            "config error: gw.toml:2:12: key 'upstream.protocol': must be \"5\" or \"3.1.1\"; "
            "got \"4\"");
  const ConfigError number = upstream_error("protocol = 5\n");
  EXPECT_EQ(number.key, "upstream.protocol");
  EXPECT_EQ(number.message, "expected a string (\"5\" or \"3.1.1\"), found an integer");
  const ConfigError payload = upstream_error("payload = \"protobuf\"\n");
  EXPECT_EQ(payload.key, "upstream.payload");
  EXPECT_EQ(payload.line, 2U);
  EXPECT_EQ(payload.message, "must be \"flatbuffer\", \"json\" or \"batch\"; got \"protobuf\"");
}

TEST(ConfigRules, ParseProtocolAndPayloadMode) {
  using config_rules::parse_payload_mode;
  using config_rules::parse_protocol;
  EXPECT_EQ(parse_protocol("5"), MqttProtocol::kV5);
  EXPECT_EQ(parse_protocol("3.1.1"), MqttProtocol::kV311);
  EXPECT_EQ(parse_protocol("5.0"), std::nullopt);
  EXPECT_EQ(parse_protocol(""), std::nullopt);
  EXPECT_EQ(parse_payload_mode("flatbuffer"), PayloadMode::kFlatbuffer);
  EXPECT_EQ(parse_payload_mode("json"), PayloadMode::kJson);
  EXPECT_EQ(parse_payload_mode("batch"), PayloadMode::kBatch);
  EXPECT_EQ(parse_payload_mode("JSON"), std::nullopt);
}

TEST(ConfigUpstream, BooleansNeedABoolean) {
  EXPECT_FALSE(parse_ok(with_upstream("clean_start = false\n")).upstream.clean_start);
  EXPECT_TRUE(parse_ok(with_upstream("clean_start = true\n")).upstream.clean_start);
  EXPECT_FALSE(parse_ok(with_upstream("")).upstream.live_first);
  EXPECT_TRUE(parse_ok(with_upstream("live_first = true\n")).upstream.live_first);
  EXPECT_EQ(upstream_error("live_first = 1\n").key, "upstream.live_first");
  const ConfigError clean = upstream_error("clean_start = \"yes\"\n");
  EXPECT_EQ(clean.to_string(),
            "config error: gw.toml:2:15: key 'upstream.clean_start': expected a boolean, found a "
            "string");
  const ConfigError verify =
      parse_error("[upstream]\nuri = \"ssl://b:8883\"\n[upstream.tls]\nverify = 1\n");
  EXPECT_EQ(verify.key, "upstream.tls.verify");
  EXPECT_EQ(verify.line, 4U);
  EXPECT_EQ(verify.message, "expected a boolean, found an integer");
  EXPECT_EQ(upstream_error("tls = 1\n").message, "expected a table, found an integer");
}

TEST(ConfigUpstream, UnknownKeysAreRefused) {
  const ConfigError error = upstream_error("uri = \"\"\nkeepalive_s = 5\n");
  EXPECT_EQ(error.key, "upstream.keepalive_s");
  EXPECT_EQ(error.line, 3U);
  EXPECT_EQ(error.message,
            "unknown key (expected one of: uri, client_id, protocol, topic_prefix, topic, "
            "payload, max_in_flight, keep_alive_s, clean_start, session_expiry_s, "
            "backoff_min_ms, backoff_max_ms, batch_max_bytes, batch_linger_ms, "
            "status_interval_s, drain_rate_events_s, drain_rate_bytes_s, drain_burst_ms, "
            "message_expiry_s, live_first, username, password_file, tls)");
  const ConfigError tls = parse_error("[upstream.tls]\nca = \"/etc/ca.pem\"\n");
  EXPECT_EQ(tls.to_string(),
            "config error: gw.toml:2:6: key 'upstream.tls.ca': unknown key (expected one of: "
            "ca_file, cert_file, key_file, verify)");
  EXPECT_EQ(parse_error("[upstream.ssl]\n").message.rfind("unknown table (", 0), 0U);
}

TEST(ConfigUpstream, UriSchemesAndAddresses) {
  for (const char* uri : {"", "tcp://127.0.0.1:1883", "mqtt://broker:1883", "ssl://b.example:8883",
                          "mqtts://b:1", "tcp://[::1]:65535", "ssl://[fe80::1]:8883"}) {
    EXPECT_EQ(parse_ok(with_upstream("uri = \"" + std::string(uri) + "\"\n")).upstream.uri, uri);
  }
  const std::string rule =
      "must be tcp://HOST:PORT, ssl://HOST:PORT, mqtt://HOST:PORT or mqtts://HOST:PORT (PORT "
      "1..65535, an IPv6 HOST in brackets), or empty for no forwarding; got ";
  const ConfigError error = upstream_error("uri = \"http://b:80\"\n");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:2:7: key 'upstream.uri': " + rule + "\"http://b:80\"");
  for (const char* uri : {"broker:1883", "tcp://", "tcp://broker", "tcp://broker:0",
                          "tcp://broker:65536", "tcp://:1883", "tcp://::1:1883", "ws://b:80",
                          "TCP://b:1883", "tcp://b:1883/path", "ssl//b:8883"}) {
    const ConfigError bad = upstream_error("uri = \"" + std::string(uri) + "\"\n");
    EXPECT_EQ(bad.key, "upstream.uri") << uri;
    EXPECT_EQ(bad.message, rule + "\"" + uri + "\"");
  }
}

TEST(ConfigUpstream, ClientId) {
  const std::string longest(64, 'c');
  EXPECT_EQ(parse_ok(with_upstream("client_id = \"" + longest + "\"\n")).upstream.client_id,
            longest);
  EXPECT_EQ(parse_ok(with_upstream("client_id = \"\"\n")).upstream.client_id, "");
  const std::string rule =
      "must be at most 64 characters from [A-Za-z0-9._-] (empty: the gateway id), got ";
  const ConfigError error = upstream_error("client_id = \"" + longest + "c\"\n");
  EXPECT_EQ(error.key, "upstream.client_id");
  EXPECT_EQ(error.line, 2U);
  EXPECT_EQ(error.message, rule + "\"" + longest + "c\"");
  EXPECT_EQ(upstream_error("client_id = \"gw 7\"\n").message, rule + "\"gw 7\"");
  EXPECT_EQ(upstream_error("client_id = \"gw/7\"\n").message, rule + "\"gw/7\"");
}

TEST(ConfigUpstream, TopicPrefix) {
  EXPECT_EQ(parse_ok(with_upstream("topic_prefix = \"a/b-c\"\n")).upstream.topic_prefix, "a/b-c");
  const ConfigError empty = upstream_error("topic_prefix = \"\"\n");
  EXPECT_EQ(empty.to_string(),
            "config error: gw.toml:2:16: key 'upstream.topic_prefix': must not be empty");
  const auto message = [](const std::string& prefix) {
    const ConfigError error = upstream_error("topic_prefix = \"" + prefix + "\"\n");
    EXPECT_EQ(error.key, "upstream.topic_prefix") << prefix;
    return error.message;
  };
  EXPECT_EQ(message("a/+"), "must not contain '+' or '#' (MQTT wildcards), got \"a/+\"");
  EXPECT_EQ(message("a/#"), "must not contain '+' or '#' (MQTT wildcards), got \"a/#\"");
  EXPECT_EQ(message("a\\u0000b"), "must not contain a NUL byte, got \"a\\x00b\"");
  EXPECT_EQ(message("/edge"), "must not start or end with '/', got \"/edge\"");
  EXPECT_EQ(message("edge/"), "must not start or end with '/', got \"edge/\"");
}

TEST(ConfigUpstream, TopicTemplate) {
  for (const char* topic : {"{prefix}/{gateway}/{device}/{sensor}", "{device}",
                            "a/{device}/{sensor}/{sensor}", "x}/{device}"}) {
    EXPECT_EQ(parse_ok(with_upstream("topic = \"" + std::string(topic) + "\"\n")).upstream.topic,
              topic);
  }
  const ConfigError unknown = upstream_error("topic = \"{prefix}/{devce}\"\n");
  EXPECT_EQ(unknown.to_string(),
            "config error: gw.toml:2:9: key 'upstream.topic': unknown placeholder \"{devce}\" "
            "(expected {prefix}, {gateway}, {device} or {sensor}) in \"{prefix}/{devce}\"");
  const auto message = [](const std::string& topic) {
    const ConfigError error = upstream_error("topic = \"" + topic + "\"\n");
    EXPECT_EQ(error.key, "upstream.topic") << topic;
    EXPECT_EQ(error.line, 2U) << topic;
    return error.message;
  };
  EXPECT_EQ(message("{prefix}/{device"), "unclosed '{' at offset 9 in \"{prefix}/{device\"");
  EXPECT_EQ(message("{device}/{"), "unclosed '{' at offset 9 in \"{device}/{\"");
  EXPECT_EQ(message("{device}/{}"),
            "unknown placeholder \"{}\" (expected {prefix}, {gateway}, {device} or {sensor}) in "
            "\"{device}/{}\"");
  EXPECT_EQ(message("{prefix}/{gateway}/{sensor}"),
            "must contain {device} (events of different devices must not share a topic), got "
            "\"{prefix}/{gateway}/{sensor}\"");
  EXPECT_EQ(message(""),
            "must contain {device} (events of different devices must not share a topic), got "
            "\"\"");
  EXPECT_EQ(message("{prefix}/+/{device}"),
            "must not contain '+' or '#' (MQTT wildcards are invalid in publish topics), got "
            "\"{prefix}/+/{device}\"");
  EXPECT_EQ(message("{device}/#"),
            "must not contain '+' or '#' (MQTT wildcards are invalid in publish topics), got "
            "\"{device}/#\"");
  EXPECT_EQ(message("$SYS/{device}"),
            "must not start with '$' (reserved for broker topics such as $SYS), got "
            "\"$SYS/{device}\"");
  EXPECT_EQ(message("{device}\\u0000"), "must not contain a NUL byte, got \"{device}\\x00\"");
}

TEST(ConfigUpstream, BackoffMinMustNotExceedMax) {
  const UpstreamConfig equal =
      parse_ok(with_upstream("backoff_min_ms = 500\nbackoff_max_ms = 500\n")).upstream;
  EXPECT_EQ(equal.backoff_min_ms, 500U);
  EXPECT_EQ(equal.backoff_max_ms, 500U);
  const ConfigError error = upstream_error("backoff_max_ms = 400\nbackoff_min_ms = 500\n");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:3:18: key 'upstream.backoff_min_ms': must not exceed "
            "upstream.backoff_max_ms (400), got 500");
  // backoff_min_ms keeps its default (100): the line of backoff_max_ms is reported.
  const ConfigError defaulted = upstream_error("uri = \"\"\nbackoff_max_ms = 50\n");
  EXPECT_EQ(defaulted.key, "upstream.backoff_min_ms");
  EXPECT_EQ(defaulted.line, 3U);
  EXPECT_EQ(defaulted.message, "must not exceed upstream.backoff_max_ms (50), got 100");
}

TEST(ConfigUpstream, TlsSettingsNeedATlsUri) {
  for (const char* key : {"ca_file = \"/ca.pem\"", "verify = false", "verify = true",
                          "cert_file = \"/c.pem\"\nkey_file = \"/k.pem\""}) {
    for (const char* uri : {"tcp://b:1883", "mqtt://b:1883"}) {
      const ConfigError error = parse_error("[upstream]\nuri = \"" + std::string(uri) +
                                            "\"\n[upstream.tls]\n" + key + "\n");
      EXPECT_EQ(error.key.rfind("upstream.tls.", 0), 0U) << error.to_string();
      EXPECT_EQ(error.line, 4U) << error.to_string();
      EXPECT_EQ(error.message, "TLS settings need an ssl:// or mqtts:// uri; upstream.uri is \"" +
                                   std::string(uri) + "\"");
    }
  }
  const ConfigError error =
      parse_error("[upstream]\nuri = \"tcp://b:1883\"\n[upstream.tls]\nca_file = \"/ca.pem\"\n");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:4:11: key 'upstream.tls.ca_file': TLS settings need an ssl:// "
            "or mqtts:// uri; upstream.uri is \"tcp://b:1883\"");
  // Forwarding off (the uri may come from the command line) or a TLS uri: accepted.
  EXPECT_EQ(parse_ok("[upstream.tls]\nca_file = \"/ca.pem\"\n").upstream.tls_ca_file, "/ca.pem");
  EXPECT_FALSE(parse_ok("[upstream]\nuri = \"ssl://b:8883\"\n[upstream.tls]\nverify = false\n")
                   .upstream.tls_verify);
}

TEST(ConfigUpstream, TlsPathsMustNotBeEmpty) {
  for (const char* key : {"ca_file", "cert_file", "key_file"}) {
    const ConfigError error = parse_error("[upstream.tls]\n" + std::string(key) + " = \"\"\n");
    EXPECT_EQ(error.key, "upstream.tls." + std::string(key));
    EXPECT_EQ(error.line, 2U);
    EXPECT_EQ(error.message, "must not be empty");
  }
}

TEST(ConfigUpstream, CertAndKeyGoTogether) {
  const ConfigError cert =
      parse_error("[upstream]\nuri = \"ssl://b:8883\"\n[upstream.tls]\ncert_file = \"/c.pem\"\n");
  EXPECT_EQ(cert.to_string(),
            "config error: gw.toml:4:13: key 'upstream.tls.cert_file': needs "
            "upstream.tls.key_file too (client-certificate authentication uses both)");
  const ConfigError key =
      parse_error("[upstream.tls]\nca_file = \"/ca.pem\"\nkey_file = \"/k.pem\"\n");
  EXPECT_EQ(key.key, "upstream.tls.key_file");
  EXPECT_EQ(key.line, 3U);
  EXPECT_EQ(key.message,
            "needs upstream.tls.cert_file too (client-certificate authentication uses both)");
}

TEST(ConfigUpstream, PasswordFileNeedsAUsername) {
  const UpstreamConfig ok =
      parse_ok(with_upstream("username = \"u\"\npassword_file = \"/etc/pw\"\n")).upstream;
  EXPECT_EQ(ok.username, "u");
  EXPECT_EQ(ok.password_file, "/etc/pw");
  EXPECT_EQ(parse_ok(with_upstream("username = \"u\"\n")).upstream.password_file, "");
  const ConfigError error = upstream_error("password_file = \"/etc/pw\"\n");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:2:17: key 'upstream.password_file': needs upstream.username "
            "(the password is sent with a user name)");
  const ConfigError empty = upstream_error("username = \"u\"\npassword_file = \"\"\n");
  EXPECT_EQ(empty.key, "upstream.password_file");
  EXPECT_EQ(empty.line, 3U);
  EXPECT_EQ(empty.message, "must not be empty");
}

TEST(ConfigUpstream, SessionExpiryIsMqtt5Only) {
  EXPECT_EQ(parse_ok(with_upstream("session_expiry_s = 3600\n")).upstream.session_expiry_s, 3600U);
  EXPECT_EQ(
      parse_ok(with_upstream("protocol = \"3.1.1\"\nsession_expiry_s = 0\n")).upstream.protocol,
      MqttProtocol::kV311);
  const ConfigError error = upstream_error("session_expiry_s = 3600\nprotocol = \"3.1.1\"\n");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:2:20: key 'upstream.session_expiry_s': must be 0 with "
            "protocol \"3.1.1\" (session expiry is MQTT 5 only), got 3600");
}

TEST(ConfigUpstream, ValidateRechecksEveryRule) {
  struct Case {
    const char* key;
    void (*change)(UpstreamConfig&);
  };
  const Case cases[] = {
      {"upstream.uri", [](UpstreamConfig& u) { u.uri = "tcp://broker"; }},
      {"upstream.client_id", [](UpstreamConfig& u) { u.client_id = "a b"; }},
      {"upstream.topic_prefix", [](UpstreamConfig& u) { u.topic_prefix = "edge/"; }},
      {"upstream.topic", [](UpstreamConfig& u) { u.topic = "{prefix}/{gateway}"; }},
      {"upstream.max_in_flight", [](UpstreamConfig& u) { u.max_in_flight = 0; }},
      {"upstream.keep_alive_s", [](UpstreamConfig& u) { u.keep_alive_s = 4; }},
      {"upstream.backoff_min_ms", [](UpstreamConfig& u) { u.backoff_min_ms = 0; }},
      {"upstream.backoff_max_ms", [](UpstreamConfig& u) { u.backoff_max_ms = 3600001; }},
      {"upstream.batch_max_bytes", [](UpstreamConfig& u) { u.batch_max_bytes = 131073; }},
      {"upstream.batch_linger_ms", [](UpstreamConfig& u) { u.batch_linger_ms = 60001; }},
      {"upstream.status_interval_s", [](UpstreamConfig& u) { u.status_interval_s = 86401; }},
      {"upstream.drain_rate_events_s",
       [](UpstreamConfig& u) { u.drain_rate_events_s = 10'000'001; }},
      {"upstream.drain_burst_ms", [](UpstreamConfig& u) { u.drain_burst_ms = 0; }},
      {"upstream.message_expiry_s", [](UpstreamConfig& u) { u.message_expiry_s = 31'536'001; }},
      {"upstream.backoff_min_ms", [](UpstreamConfig& u) { u.backoff_min_ms = 30001; }},
      {"upstream.tls.verify",
       [](UpstreamConfig& u) {
         u.uri = "mqtt://b:1883";
         u.tls_verify = false;
       }},
      {"upstream.tls.ca_file",
       [](UpstreamConfig& u) {
         u.uri = "tcp://b:1883";
         u.tls_ca_file = "/ca.pem";
       }},
      {"upstream.tls.key_file", [](UpstreamConfig& u) { u.tls_key_file = "/k.pem"; }},
      {"upstream.tls.cert_file", [](UpstreamConfig& u) { u.tls_cert_file = "/c.pem"; }},
      {"upstream.password_file", [](UpstreamConfig& u) { u.password_file = "/pw"; }},
      {"upstream.session_expiry_s",
       [](UpstreamConfig& u) {
         u.protocol = MqttProtocol::kV311;
         u.session_expiry_s = 1;
       }},
  };
  for (const Case& c : cases) {
    GatewayConfig config = one_source();
    config.upstream.uri = "ssl://b:8883";
    EXPECT_EQ(validate_config(config, kFile), std::nullopt);
    c.change(config.upstream);
    const std::optional<ConfigError> error = validate_config(config, kFile);
    ASSERT_TRUE(error.has_value()) << c.key;
    EXPECT_EQ(error->key, c.key);
    EXPECT_EQ(error->line, 0U);
  }

  GatewayConfig config = one_source();
  config.upstream.keep_alive_s = 0;
  config.upstream.session_expiry_s = 4294967295U;
  config.upstream.tls_ca_file = "/ca.pem";  // kept for when the uri comes later
  EXPECT_EQ(validate_config(config, kFile), std::nullopt);
  config.upstream.uri = "tcp://b:1883";
  EXPECT_EQ(validate_config(config, kFile)->to_string(),
            "config error: gw.toml: key 'upstream.tls.ca_file': TLS settings need an ssl:// or "
            "mqtts:// uri; upstream.uri is \"tcp://b:1883\"");
}

class ConfigFile : public ::testing::Test {
 protected:
  std::filesystem::path dir_ = std::filesystem::path(::testing::TempDir()) /
                               ::testing::UnitTest::GetInstance()->current_test_info()->name();
  void SetUp() override { std::filesystem::create_directories(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
};

TEST(ConfigMetrics, OffByDefault) {
  const GatewayConfig config = parse_ok("");
  EXPECT_EQ(config.metrics_listen, "");
  EXPECT_FALSE(config.metrics_allow_remote);
  EXPECT_EQ(validate_config(one_source(), kFile), std::nullopt);
}

TEST(ConfigMetrics, LoopbackAddressesAreAccepted) {
  for (const std::string listen : {"127.0.0.1:9464", "127.1.2.3:1", "[::1]:65535"}) {
    const GatewayConfig config = parse_ok("[metrics]\nlisten = \"" + listen + "\"\n");
    EXPECT_EQ(config.metrics_listen, listen);
  }
}

TEST(ConfigMetrics, RemoteAddressNeedsAllowRemote) {
  const ConfigError error = parse_error("[metrics]\nlisten = \"0.0.0.0:9464\"\n");
  EXPECT_EQ(error.key, "metrics.listen");
  EXPECT_EQ(error.line, 2U);
  EXPECT_NE(error.message.find("not a loopback address"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("metrics.allow_remote = true"), std::string::npos);
  // allow_remote may come after listen in the file: the rule is between the two keys.
  const GatewayConfig config =
      parse_ok("[metrics]\nlisten = \"0.0.0.0:9464\"\nallow_remote = true\n");
  EXPECT_EQ(config.metrics_listen, "0.0.0.0:9464");
  EXPECT_TRUE(config.metrics_allow_remote);
  EXPECT_EQ(parse_ok("[metrics]\nlisten = \"[::]:9464\"\nallow_remote = true\n").metrics_listen,
            "[::]:9464");
}

TEST(ConfigMetrics, BadListenNamesTheKey) {
  for (const std::string listen :
       {"9464", "localhost:9464", "127.0.0.1:0", "127.0.0.1:65536", ":9464", "::1:9464"}) {
    const ConfigError error = parse_error("[metrics]\nlisten = \"" + listen + "\"\n");
    EXPECT_EQ(error.key, "metrics.listen") << listen;
    EXPECT_EQ(error.file, kFile);
    EXPECT_EQ(error.line, 2U) << listen;
  }
  EXPECT_NE(parse_error("[metrics]\nlisten = \"localhost:9464\"\n").message.find("IP address"),
            std::string::npos);
  EXPECT_EQ(parse_error("[metrics]\nlisten = 9464\n").message,
            "expected a string, found an integer");
  EXPECT_EQ(parse_error("[metrics]\nallow_remote = \"yes\"\n").key, "metrics.allow_remote");
  EXPECT_EQ(parse_error("[metrics]\nport = 9464\n").message,
            "unknown key (expected one of: listen, allow_remote)");
}

TEST(ConfigMetrics, ValidateRechecksTheLoopbackRule) {
  GatewayConfig config = one_source();
  config.metrics_listen = "192.0.2.1:9464";
  const std::optional<ConfigError> error = validate_config(config, kFile);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->key, "metrics.listen");
  config.metrics_allow_remote = true;
  EXPECT_EQ(validate_config(config, kFile), std::nullopt);
  config.metrics_listen = "127.0.0.1:99999";
  EXPECT_TRUE(validate_config(config, kFile).has_value());
}

TEST_F(ConfigFile, LoadsAFile) {
  const std::string path = dir_ / "gateway.toml";
  std::ofstream(path) << "[gateway]\nid = \"from-file\"\n[[ingest.unix]]\npath = \"/run/s\"\n";
  auto result = load_config(path);
  ASSERT_TRUE(std::holds_alternative<GatewayConfig>(result))
      << std::get<ConfigError>(result).to_string();
  const GatewayConfig& config = std::get<GatewayConfig>(result);
  EXPECT_EQ(config.gateway_id, "from-file");
  EXPECT_EQ(validate_config(config, path), std::nullopt);
}

TEST_F(ConfigFile, ErrorInAFileNamesThePath) {
  const std::string path = dir_ / "gateway.toml";
  std::ofstream(path) << "\n[buffer]\nmax_byts = 5\n";
  auto result = load_config(path);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
  EXPECT_EQ(std::get<ConfigError>(result).file, path);
  EXPECT_EQ(std::get<ConfigError>(result).line, 3U);
}

TEST_F(ConfigFile, MissingFileNamesThePath) {
  const std::string path = dir_ / "absent.toml";
  auto result = load_config(path);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
  EXPECT_EQ(std::get<ConfigError>(result).to_string(),
            "config error: " + path + ": cannot open: No such file or directory");
}

TEST_F(ConfigFile, DirectoryIsRefused) {
  auto result = load_config(dir_.string());
  ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
  EXPECT_EQ(std::get<ConfigError>(result).message, "cannot read: Is a directory");
}

}  // namespace
}  // namespace edge::gateway
