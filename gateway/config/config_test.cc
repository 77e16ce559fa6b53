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
  config.tcp.push_back({"127.0.0.1", 7700});
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

[ingest]
max_devices = 10
dedupe_window = 128
max_batch_events = 64
commit_linger_us = 500
max_read_bytes = 1024
max_connections = 8

[[ingest.serial]]
path = "/dev/ttyUSB0"

[[ingest.serial]]
path = "/dev/ttyAMA0"
baud = 9600

[[ingest.tcp]]
listen = "0.0.0.0:7700"

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
  ASSERT_EQ(config.serial.size(), 2U);
  EXPECT_EQ(config.serial[0].path, "/dev/ttyUSB0");
  EXPECT_EQ(config.serial[0].baud, 115200U);
  EXPECT_EQ(config.serial[1].path, "/dev/ttyAMA0");
  EXPECT_EQ(config.serial[1].baud, 9600U);
  ASSERT_EQ(config.tcp.size(), 2U);
  EXPECT_EQ(config.tcp[0].host, "0.0.0.0");
  EXPECT_EQ(config.tcp[0].port, 7700U);
  EXPECT_EQ(config.tcp[1].host, "::1");
  EXPECT_EQ(config.tcp[1].port, 7701U);
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
            "max_bytes, high_water_percent, full_policy, busy_retry_ms)");
}

TEST(ConfigParse, UnknownTableIsAnError) {
  const ConfigError error = parse_error("[buffers]\nmax_bytes = 5\n");
  EXPECT_EQ(error.key, "buffers");
  EXPECT_EQ(error.message, "unknown table (expected one of: gateway, buffer, ingest)");
  EXPECT_EQ(parse_error("[ingest.udp]\n").key, "ingest.udp");
  EXPECT_EQ(parse_error("[[buffers]]\n").message,
            "unknown table (expected one of: gateway, buffer, ingest)");
}

TEST(ConfigParse, UnknownKeyInSecondSourceNamesItsIndex) {
  const ConfigError error =
      parse_error("[[ingest.tcp]]\nlisten = \"h:1\"\n[[ingest.tcp]]\nlisen = \"h:2\"\n");
  EXPECT_EQ(error.key, "ingest.tcp[1].lisen");
  EXPECT_EQ(error.message, "unknown key (expected one of: listen)");
  EXPECT_EQ(error.line, 4U);
}

TEST(ConfigParse, HighWaterPercentAbove99IsRefused) {
  const ConfigError error = parse_error("[buffer]\nhigh_water_percent = 100\n");
  EXPECT_EQ(error.to_string(),
            "config error: gw.toml:2:22: key 'buffer.high_water_percent': must be 1..99, got 100");
}

// Every integer key: both bounds accepted, one past each refused with the range in the message.
struct Bound {
  const char* key;
  std::int64_t min;
  std::int64_t max;
};

void PrintTo(const Bound& bound, std::ostream* out) {
  *out << bound.key;
}

class IntegerBounds : public ::testing::TestWithParam<Bound> {};

TEST_P(IntegerBounds, AcceptsBoundsAndRefusesOnePast) {
  const Bound bound = GetParam();
  const std::string key = bound.key;
  const std::string range = std::to_string(bound.min) + ".." + std::to_string(bound.max);
  const bool step = key == "ingest.dedupe_window";
  const std::int64_t past = step ? 64 : 1;
  parse_ok(key + " = " + std::to_string(bound.min));
  parse_ok(key + " = " + std::to_string(bound.max));
  for (const std::int64_t value : {bound.min - past, bound.max + past}) {
    const ConfigError error = parse_error(key + " = " + std::to_string(value));
    EXPECT_EQ(error.key, key);
    EXPECT_EQ(error.message, "must be " + std::string(step ? "a multiple of 64 in " : "") + range +
                                 ", got " + std::to_string(value));
  }
}

INSTANTIATE_TEST_SUITE_P(AllKeys, IntegerBounds,
                         ::testing::Values(Bound{"buffer.high_water_percent", 1, 99},
                                           Bound{"buffer.busy_retry_ms", 1, 600000},
                                           Bound{"ingest.max_devices", 1, 1000000},
                                           Bound{"ingest.dedupe_window", 64, 1048576},
                                           Bound{"ingest.max_batch_events", 1, 1000000},
                                           Bound{"ingest.commit_linger_us", 0, 1000000},
                                           Bound{"ingest.max_read_bytes", 256, 16777216},
                                           Bound{"ingest.max_connections", 1, 65536}),
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

  const GatewayConfig config = parse_ok("[[ingest.tcp]]\nlisten = \"gw.local:65535\"\n");
  ASSERT_EQ(config.tcp.size(), 1U);
  EXPECT_EQ(config.tcp[0].host, "gw.local");
  EXPECT_EQ(config.tcp[0].port, 65535U);
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

TEST(ConfigValidate, RechecksBoundsAfterOverrides) {
  GatewayConfig config = one_source();
  EXPECT_EQ(validate_config(config, kFile), std::nullopt);
  config.buffer_high_water_percent = 100;
  const std::optional<ConfigError> error = validate_config(config, kFile);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->to_string(),
            "config error: gw.toml: key 'buffer.high_water_percent': must be 1..99, got 100");

  config = one_source();
  config.tcp.push_back({"10.0.0.1", 0});
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

class ConfigFile : public ::testing::Test {
 protected:
  std::filesystem::path dir_ = std::filesystem::path(::testing::TempDir()) /
                               ::testing::UnitTest::GetInstance()->current_test_info()->name();
  void SetUp() override { std::filesystem::create_directories(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
};

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
