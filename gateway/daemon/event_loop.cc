#include "event_loop.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "link_io.h"

namespace edge::gateway {
namespace {

constexpr std::uint64_t kSerialBackoffFirstUs = 100'000;
constexpr std::uint64_t kSerialBackoffMaxUs = 5'000'000;
constexpr std::size_t kReadChunk = 4096;

}  // namespace

std::uint64_t monotonic_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000U +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000U;
}

std::uint64_t wall_clock_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000U +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000U;
}

EventLoop::EventLoop(Ingest& ingest, LoopOptions options)
    : ingest_(ingest), options_(options), read_buffer_(kReadChunk) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_ = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = signal_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd_, &ev);
}

EventLoop::~EventLoop() {
  for (auto& [id, session] : sessions_) {
    ::close(session->fd);
  }
  for (const Listener& l : listeners_) {
    ::close(l.fd);
  }
  ::close(signal_fd_);
  ::close(epoll_fd_);
}

void EventLoop::watch(int fd, bool write) {
  epoll_event ev{};
  ev.events = EPOLLIN | (write ? static_cast<std::uint32_t>(EPOLLOUT) : 0U);
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

SessionId EventLoop::add_session(int fd, std::string name, bool serial, std::size_t index) {
  const SessionId id = next_session_++;
  auto session = std::make_unique<Session>();
  session->fd = fd;
  session->name = std::move(name);
  session->serial = serial;
  session->serial_index = index;
  watch(fd, false);
  session_by_fd_[fd] = id;
  sessions_[id] = std::move(session);
  return id;
}

void EventLoop::close_session(SessionId id, const char* why, bool log) {
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return;
  }
  Session& s = *it->second;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd, nullptr);
  ::close(s.fd);
  session_by_fd_.erase(s.fd);
  auth_deadlines_.erase({s.auth_deadline_us, id});
  ingest_.forget_session(id, monotonic_us());
  if (s.serial) {
    Serial& port = serials_[s.serial_index];
    port.session = 0;
    port.backoff_us = kSerialBackoffFirstUs;
    port.retry_at_us = monotonic_us() + port.backoff_us;
    spdlog::warn("{}: closed ({}); reopening with backoff", s.name, why);
  } else {
    --connections_;
    if (log) {
      spdlog::info("{}: closed ({})", s.name, why);
    }
  }
  sessions_.erase(it);
}

void EventLoop::refuse_auth(SessionId id, AuthRefusal why, std::uint64_t now_us) {
  const Session& s = *sessions_.at(id);
  // Never the line itself: right or wrong, it may hold a token.
  ingest_.on_link_refused(s.listener, "auth", s.peer + ": " + to_string(why), wall_clock_us());
  if (batch_started_us_ == 0) {
    batch_started_us_ = now_us;  // the counter is committed with the next flush
  }
  close_session(id, to_string(why), false);  // logged (rate-limited) by Ingest
}

void EventLoop::expire_auth(std::uint64_t now_us) {
  while (!auth_deadlines_.empty() && auth_deadlines_.begin()->first <= now_us) {
    const SessionId id = auth_deadlines_.begin()->second;
    auth_deadlines_.erase(auth_deadlines_.begin());
    refuse_auth(id, AuthRefusal::kTimeout, now_us);
  }
}

void EventLoop::add_serial(const SerialSource& source) {
  serials_.push_back({source, 0, 0, kSerialBackoffFirstUs, 0});
  try_open_serial(serials_.size() - 1, monotonic_us());
}

void EventLoop::try_open_serial(std::size_t index, std::uint64_t now_us) {
  Serial& port = serials_[index];
  const FdOrError opened = open_serial(port.config.path, port.config.baud);
  if (const int* fd = std::get_if<int>(&opened)) {
    if (port.failures > 0) {
      spdlog::info("serial:{}: open again after {} failed attempts", port.config.path,
                   port.failures);
    }
    port.failures = 0;
    port.backoff_us = kSerialBackoffFirstUs;
    port.session = add_session(*fd, "serial:" + port.config.path, true, index);
    return;
  }
  if (port.failures++ == 0) {  // logged once per outage
    spdlog::warn("{}; retrying with backoff up to {} s", std::get<std::string>(opened),
                 kSerialBackoffMaxUs / 1'000'000U);
  }
  port.retry_at_us = now_us + port.backoff_us;
  port.backoff_us = std::min(port.backoff_us * 2U, kSerialBackoffMaxUs);
}

std::optional<std::string> EventLoop::add_tcp(const TcpSource& source,
                                              std::optional<std::string> token) {
  const FdOrError opened = listen_tcp(source.host, source.port);
  if (const auto* error = std::get_if<std::string>(&opened)) {
    return *error;
  }
  const int fd = std::get<int>(opened);
  const std::uint16_t port = bound_port(fd);
  tcp_ports_.push_back(port);
  listeners_.push_back({fd, "tcp:" + source.host + ":" + std::to_string(port),
                        token ? std::make_unique<LinkAuth>(std::move(*token)) : nullptr});
  watch(fd, false);
  spdlog::info("listening on tcp {}:{}{}", source.host, port,
               listeners_.back().auth ? " (a token line first: token_file)" : "");
  return std::nullopt;
}

std::optional<std::string> EventLoop::add_unix(const UnixSource& source) {
  const FdOrError opened = listen_unix(source.path);
  if (const auto* error = std::get_if<std::string>(&opened)) {
    return *error;
  }
  listeners_.push_back({std::get<int>(opened), "unix:" + source.path, nullptr});
  watch(listeners_.back().fd, false);
  spdlog::info("listening on unix {}", source.path);
  return std::nullopt;
}

void EventLoop::accept_all(const Listener& listener) {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    const int fd = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      return;
    }
    if (connections_ >= options_.max_connections) {
      ::close(fd);
      spdlog::warn("{}: connection refused: {} connections is the bound (ingest.max_connections)",
                   listener.name, options_.max_connections);
      continue;
    }
    ++connections_;
    const SessionId id =
        add_session(fd, listener.name + "#" + std::to_string(next_session_), false, 0);
    Session& s = *sessions_.at(id);
    s.listener = listener.name;
    s.peer = peer_name(peer, peer_len);
    if (listener.auth) {
      s.auth = listener.auth.get();
      s.auth_deadline_us = monotonic_us() + options_.auth_timeout_ms * 1000ULL;
      auth_deadlines_.emplace(s.auth_deadline_us, id);
    }
  }
}

void EventLoop::on_readable(SessionId id, std::uint64_t now_us, bool hangup) {
  Session& s = *sessions_.at(id);
  std::size_t budget = options_.max_read_bytes;
  const std::uint64_t wall_us = wall_clock_us();
  while (budget > 0) {
    const ssize_t n = ::read(s.fd, read_buffer_.data(), std::min(budget, read_buffer_.size()));
    if (n > 0) {
      budget -= static_cast<std::size_t>(n);
      std::span<const std::uint8_t> bytes{read_buffer_.data(), static_cast<std::size_t>(n)};
      if (s.auth != nullptr && !s.auth_line.accepted()) {
        const LinkAuth::Step step = s.auth->feed(s.auth_line, bytes);
        if (step.verdict == LinkAuth::Step::Verdict::kRefused) {
          refuse_auth(id, step.refusal, now_us);
          return;  // `s` is gone
        }
        if (step.verdict == LinkAuth::Step::Verdict::kNeedMore) {
          continue;
        }
        auth_deadlines_.erase({s.auth_deadline_us, id});
        spdlog::debug("{}: token accepted from {}", s.name, s.peer);
        bytes = bytes.subspan(step.consumed);  // the rest of this read: frame bytes
      }
      if (batch_started_us_ == 0) {
        batch_started_us_ = now_us;
      }
      s.decoder.feed(
          bytes,
          [&](std::span<const std::uint8_t> payload) {
            ingest_.on_frame(id, s.name, payload, wall_us);
          },
          [&](link::FrameError error) { ingest_.on_frame_error(id, s.name, error, wall_us); });
      continue;
    }
    if ((n < 0 && (errno == EAGAIN || errno == EINTR)) || (n == 0 && s.serial && !hangup)) {
      return;  // a tty has no end of stream: a vanished port shows as EIO or a hangup
    }
    close_session(id, n == 0 ? "end of stream" : std::strerror(errno));
    return;
  }
}

void EventLoop::send_frame(SessionId id, std::span<const std::uint8_t> frame) {
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return;
  }
  Session& s = *it->second;
  if (s.out.size() + frame.size() > options_.max_pending_ack_bytes) {
    return;  // the link is not draining: the device will resend and be acked again
  }
  s.out.insert(s.out.end(), frame.begin(), frame.end());
  on_writable(id);
}

void EventLoop::on_writable(SessionId id) {
  Session& s = *sessions_.at(id);
  std::size_t sent = 0;
  while (sent < s.out.size()) {
    const ssize_t n = s.serial
                          ? ::write(s.fd, s.out.data() + sent, s.out.size() - sent)
                          : ::send(s.fd, s.out.data() + sent, s.out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  s.out.erase(s.out.begin(), s.out.begin() + static_cast<std::ptrdiff_t>(sent));
  const bool want = !s.out.empty();
  if (want != s.want_write) {
    s.want_write = want;
    watch(s.fd, want);
  }
}

void EventLoop::set_forwarder(Forwarder* forwarder) {
  forwarder_ = forwarder;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = forwarder->wake_fd();
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, forwarder->wake_fd(), &ev);
}

void EventLoop::set_periodic(std::uint64_t interval_us,
                             std::function<void(std::uint64_t now_us)> tick) {
  tick_ = std::move(tick);
  tick_interval_us_ = interval_us;
  tick_due_us_ = monotonic_us();
}

int EventLoop::timeout_ms(std::uint64_t now_us) const {
  std::uint64_t wait_us = 1'000'000;
  if (tick_) {
    wait_us = std::min(wait_us, tick_due_us_ > now_us ? tick_due_us_ - now_us : 0);
  }
  if (forwarder_due_us_ != 0) {
    wait_us = std::min(wait_us, forwarder_due_us_ > now_us ? forwarder_due_us_ - now_us : 0);
  }
  for (const Serial& port : serials_) {
    if (port.session == 0) {
      wait_us = std::min(wait_us, port.retry_at_us > now_us ? port.retry_at_us - now_us : 0);
    }
  }
  if (batch_started_us_ != 0) {
    const std::uint64_t due = batch_started_us_ + options_.commit_linger_us;
    wait_us = std::min(wait_us, due > now_us ? due - now_us : 0);
  }
  if (!auth_deadlines_.empty()) {
    const std::uint64_t due = auth_deadlines_.begin()->first;
    wait_us = std::min(wait_us, due > now_us ? due - now_us : 0);
  }
  return static_cast<int>((wait_us + 999U) / 1000U);
}

int EventLoop::run() {
  std::array<epoll_event, 64> events{};
  if (forwarder_ != nullptr) {
    forwarder_->poll(monotonic_us());  // connect upstream now, not after the first wake-up
  }
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                               timeout_ms(monotonic_us()));
    if (n < 0 && errno != EINTR) {
      spdlog::error("epoll_wait: {}", std::strerror(errno));
      return 1;
    }
    const std::uint64_t now_us = monotonic_us();
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      const std::uint32_t flags = events[static_cast<std::size_t>(i)].events;
      if (forwarder_ != nullptr && fd == forwarder_->wake_fd()) {
        continue;  // polled below
      }
      if (fd == signal_fd_) {
        signalfd_siginfo info{};
        while (::read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
          spdlog::info("signal {}: finishing the current batch and stopping", info.ssi_signo);
          stop = true;
        }
        continue;
      }
      if (const auto l = std::find_if(listeners_.begin(), listeners_.end(),
                                      [fd](const Listener& x) { return x.fd == fd; });
          l != listeners_.end()) {
        accept_all(*l);
        continue;
      }
      const auto found = session_by_fd_.find(fd);
      if (found == session_by_fd_.end()) {
        continue;
      }
      const SessionId id = found->second;
      if ((flags & EPOLLOUT) != 0U) {
        on_writable(id);
      }
      if ((flags & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0U) {
        on_readable(id, now_us, (flags & (EPOLLHUP | EPOLLERR)) != 0U);
      }
    }
    expire_auth(now_us);
    for (std::size_t i = 0; i < serials_.size(); ++i) {
      if (serials_[i].session == 0 && serials_[i].retry_at_us <= now_us) {
        try_open_serial(i, now_us);
      }
    }
    if (batch_started_us_ != 0 &&
        (stop || now_us >= batch_started_us_ + options_.commit_linger_us)) {
      ingest_.flush(wall_clock_us());
      batch_started_us_ = 0;
    }
    if (stop) {
      ingest_.flush(wall_clock_us());
      return 0;
    }
    if (forwarder_ != nullptr) {
      const std::uint64_t now = monotonic_us();
      const std::uint64_t delay = forwarder_->poll(now);
      forwarder_due_us_ = delay == 0 ? 0 : now + delay;
    }
    if (tick_) {
      const std::uint64_t now = monotonic_us();
      if (now >= tick_due_us_) {
        tick_(now);
        tick_due_us_ = now + tick_interval_us_;
      }
    }
  }
}

}  // namespace edge::gateway
