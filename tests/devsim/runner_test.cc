// Endpoints and the poll loop, with a gateway on a thread of the test: a Unix socket, then a pty.
#include "runner.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <vector>

#include "fake_gateway.h"

namespace edge::devsim {
namespace {

using namespace std::chrono_literals;
using testing::FakeGateway;
using testing::Message;

constexpr std::uint64_t kDevice = 0xD5;
constexpr std::uint32_t kBoot = 2;

std::filesystem::path temp_path(const std::string& suffix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::filesystem::path(::testing::TempDir()) /
         (std::string("devsim_") + info->name() + suffix);
}

int listen_unix(const std::filesystem::path& path) {
  std::filesystem::remove(path);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(::listen(fd, 4), 0);
  return fd;
}

// Serves one connection: acks every batch Ok until the peer closes, `stop` is set, or
// `max_acks` acks were sent (then it closes the connection).
std::size_t serve(int fd, const std::atomic<bool>& stop, std::size_t max_acks = SIZE_MAX) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  FakeGateway gateway(fd);
  std::size_t acks = 0;
  std::size_t hellos = 0;
  while (!stop && !gateway.eof() && acks < max_acks) {
    for (const Message& m : gateway.read_at_least(1, 20ms)) {
      if (m.kind == "hello") {
        ++hellos;
      } else if (m.kind == "batch" && acks < max_acks) {
        EXPECT_EQ(hellos, 1U) << "a batch before the Hello";
        gateway.ack_ok(kDevice, kBoot, m.seqs());
        ++acks;
      }
    }
  }
  return acks;
}

SimConfig sim_config(std::uint64_t count) {
  SimConfig c;
  c.device = kDevice;
  c.boot = kBoot;
  c.count = count;
  c.rate = 2000.0;
  return c;
}

// Runs `sim` over `endpoint` until every event is acked (5 s at most) and expects exit 0.
void expect_run_until_acked(DeviceSim& sim, Endpoint& endpoint, bool reconnect) {
  RunOptions options;
  options.reconnect = reconnect;
  options.exit_when_acked = true;
  options.timeout = 5s;
  std::ostringstream log;
  EXPECT_EQ(run(sim, endpoint, options, log), kExitOk) << log.str();
}

TEST(DevsimEndpoint, ParsesEveryForm) {
  EndpointSpec s = parse_endpoint("tcp:127.0.0.1:7000");
  EXPECT_EQ(s.kind, EndpointSpec::Kind::kTcp);
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 7000);
  s = parse_endpoint("tcp:[::1]:7001");
  EXPECT_EQ(s.host, "::1");
  EXPECT_EQ(s.port, 7001);
  s = parse_endpoint("unix:/run/gw.sock");
  EXPECT_EQ(s.kind, EndpointSpec::Kind::kUnix);
  EXPECT_EQ(s.path, "/run/gw.sock");
  s = parse_endpoint("serial:/dev/ttyUSB0");
  EXPECT_EQ(s.kind, EndpointSpec::Kind::kSerial);
  EXPECT_EQ(s.path, "/dev/ttyUSB0");
  EXPECT_EQ(s.baud, 115200U);
  s = parse_endpoint("serial:/dev/ttyS1:9600");
  EXPECT_EQ(s.path, "/dev/ttyS1");
  EXPECT_EQ(s.baud, 9600U);
  for (const char* bad : {"", "tcp", "tcp:host", "tcp:host:0", "tcp:host:70000", "tcp::80", "unix:",
                          "serial:", "serial:/dev/ttyS0:12345", "serial:/dev/x:fast", "udp:h:1"}) {
    EXPECT_THROW((void)parse_endpoint(bad), std::invalid_argument) << bad;
  }
}

TEST(DevsimRun, DeliversEverythingOverAUnixSocketAndExitsWhenAcked) {
  const auto path = temp_path(".sock");
  const int listener = listen_unix(path);
  std::atomic<bool> stop{false};
  std::thread gateway([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    serve(fd, stop);
    ::close(fd);
  });
  DeviceSim sim(sim_config(40), Clock::now());
  const auto endpoint = make_endpoint(parse_endpoint("unix:" + path.string()));
  expect_run_until_acked(sim, *endpoint, false);
  stop = true;
  gateway.join();
  EXPECT_EQ(sim.stats().produced, 40U);
  EXPECT_EQ(sim.stats().acked, 40U);
  EXPECT_EQ(sim.pending(), 0U);
  ::close(listener);
  std::filesystem::remove(path);
}

TEST(DevsimRun, ReconnectsAndResendsWhatWasNotAcked) {
  const auto path = temp_path(".sock");
  const int listener = listen_unix(path);
  std::atomic<bool> stop{false};
  std::thread gateway([&] {
    int fd = ::accept(listener, nullptr, nullptr);
    EXPECT_EQ(serve(fd, stop, 2), 2U);  // two acks, then the gateway "crashes"
    ::close(fd);
    fd = ::accept(listener, nullptr, nullptr);
    serve(fd, stop);
    ::close(fd);
  });
  DeviceSim sim(sim_config(30), Clock::now());
  const auto endpoint = make_endpoint(parse_endpoint("unix:" + path.string()));
  expect_run_until_acked(sim, *endpoint, true);
  stop = true;
  gateway.join();
  EXPECT_EQ(sim.stats().acked, 30U);
  EXPECT_EQ(sim.stats().reconnects, 1U);
  ::close(listener);
  std::filesystem::remove(path);
}

// Reads one byte at a time up to and including '\n' (so nothing after the line is taken).
std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1) {
    line += c;
    if (c == '\n') {
      break;
    }
  }
  return line;
}

// --token-file: the token line goes first on every link, before the Hello, and again after a
// reconnect; what follows it is the ordinary link.
TEST(DevsimRun, TheTokenLineGoesFirstOnEveryLink) {
  const auto path = temp_path(".sock");
  const int listener = listen_unix(path);
  std::atomic<bool> stop{false};
  std::vector<std::string> lines;
  std::thread gateway([&] {
    int fd = ::accept(listener, nullptr, nullptr);
    lines.push_back(read_line(fd));
    EXPECT_EQ(serve(fd, stop, 1), 1U);  // one ack, then the link drops
    ::close(fd);
    fd = ::accept(listener, nullptr, nullptr);
    lines.push_back(read_line(fd));
    serve(fd, stop);
    ::close(fd);
  });
  const auto token_path = temp_path(".token");
  std::ofstream(token_path) << "0123456789abcdef-token\nsecond line ignored\n";
  DeviceSim sim(sim_config(20), Clock::now());
  const auto endpoint =
      with_first_line(make_endpoint(parse_endpoint("unix:" + path.string())),
                      "EDGE-TOKEN " + read_first_line(token_path.string()) + "\n");
  expect_run_until_acked(sim, *endpoint, true);
  stop = true;
  gateway.join();
  EXPECT_EQ(lines, (std::vector<std::string>(2, "EDGE-TOKEN 0123456789abcdef-token\n")));
  EXPECT_EQ(sim.stats().acked, 20U);
  EXPECT_EQ(sim.stats().reconnects, 1U);
  EXPECT_THROW((void)read_first_line(temp_path(".absent").string()), std::invalid_argument);
  ::close(listener);
  std::filesystem::remove(path);
  std::filesystem::remove(token_path);
}

TEST(DevsimRun, WithoutReconnectARefusedLinkEndsTheRun) {
  DeviceSim sim(sim_config(1), Clock::now());
  const auto endpoint = make_endpoint(parse_endpoint("unix:" + temp_path(".none").string()));
  std::ostringstream log;
  EXPECT_EQ(run(sim, *endpoint, RunOptions{}, log), kExitLinkLost);
  EXPECT_NE(log.str().find("connect unix:"), std::string::npos) << log.str();
}

TEST(DevsimRun, GivesUpAtTheTimeout) {
  DeviceSim sim(sim_config(1), Clock::now());
  const auto endpoint = make_endpoint(parse_endpoint("unix:" + temp_path(".none").string()));
  RunOptions options;
  options.reconnect = true;
  options.timeout = 200ms;
  std::ostringstream log;
  const auto start = Clock::now();
  EXPECT_EQ(run(sim, *endpoint, options, log), kExitTimeout);
  EXPECT_GE(Clock::now() - start, 200ms);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_EQ(sim.stats().produced, 1U);
}

TEST(DevsimRun, StopsWhenTheStopFdIsReadable) {
  int stop_pipe[2] = {-1, -1};
  ASSERT_EQ(::pipe(stop_pipe), 0);
  ASSERT_EQ(::write(stop_pipe[1], "x", 1), 1);
  DeviceSim sim(sim_config(0), Clock::now());
  const auto endpoint = make_endpoint(parse_endpoint("unix:" + temp_path(".none").string()));
  RunOptions options;
  options.reconnect = true;
  options.stop_fd = stop_pipe[0];
  std::ostringstream log;
  EXPECT_EQ(run(sim, *endpoint, options, log), kExitOk);
  ::close(stop_pipe[0]);
  ::close(stop_pipe[1]);
}

TEST(DevsimRun, PtyLinkWaitsForTheGatewayToOpenThePort) {
  const auto link = temp_path(".tty");
  std::filesystem::remove(link);
  std::atomic<bool> stop{false};
  {
    PtyEndpoint endpoint(link.string());
    EXPECT_TRUE(std::filesystem::is_symlink(link));
    EXPECT_EQ(std::filesystem::read_symlink(link).string(), endpoint.slave_name());
    std::thread gateway([&] {
      std::this_thread::sleep_for(100ms);  // the simulator starts first and waits
      const int fd = ::open(link.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
      EXPECT_GE(fd, 0);
      serve(fd, stop);
      ::close(fd);
    });
    DeviceSim sim(sim_config(20), Clock::now());
    expect_run_until_acked(sim, endpoint, false);
    stop = true;
    gateway.join();
    EXPECT_EQ(sim.stats().acked, 20U);
    EXPECT_EQ(sim.stats().reconnects, 0U);
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(link)));
}

}  // namespace
}  // namespace edge::devsim
