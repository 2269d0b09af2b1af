#include "liveness.hh"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>

#include "classify.hh"
#include "event_loop.hh"
#include "path_trace.hh"

// What the three results carry in native_code / native_kind:
//   "icmp"   type * 256 + code of the ICMP message that decided the result, in the IPv4 numbering
//            (ICMPv6 mapped to it, as PathHop does): 0 an echo reply, 771 (3/3) a port
//            unreachable, 769 (3/1) a router's host unreachable, 2816 (11/0) time exceeded.
//   "errno"  an errno for everything else: ECONNREFUSED for an RST, ETIMEDOUT for silence,
//            ENETUNREACH from connect() when this host has no route, EPERM when no ICMP socket
//            could be opened.
//   ""       (code 0) a SYN-ACK or a datagram back: nothing failed, nothing native to report.

namespace vantage {
namespace {

using Clock = std::chrono::steady_clock;

// The datagram's port: classic traceroute's base port, one below the first the path trace uses,
// and closed on nearly every host. Any answer to it proves the host is there.
constexpr uint16_t kUdpPort = kTracePortBase;
constexpr std::string_view kPayload = "vantage liveness";
constexpr size_t kIcmpHeader = 8;
constexpr int kTimeExceeded = 11;

// Echo request identifiers for raw sockets (a ping socket gets its own from the kernel), and
// sequence numbers, which tell this process's concurrent echoes to one host apart.
std::atomic<uint16_t> next_sequence{1};

std::chrono::microseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

std::string millis(std::chrono::microseconds elapsed) {
  return fmt::format("{:.1f} ms", static_cast<double>(elapsed.count()) / 1000.0);
}

// RFC 1071. Only a raw IPv4 socket needs it: the kernel sums ping sockets and ICMPv6 itself.
uint16_t internet_checksum(const unsigned char* data, size_t length) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < length; i += 2) {
    sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  }
  if (length % 2 == 1) {
    sum += static_cast<uint32_t>(data[length - 1] << 8);
  }
  while (sum >> 16 != 0) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint16_t read16(const unsigned char* data) {
  return static_cast<uint16_t>(data[0] << 8 | data[1]);
}

std::string ping_group_range() {
  std::ifstream file("/proc/sys/net/ipv4/ping_group_range");
  std::string low;
  std::string high;
  file >> low >> high;
  return file ? low + " " + high : "unreadable";
}

std::string address_text(const sockaddr_storage& address) {
  Endpoint endpoint;
  endpoint.addr = address;
  endpoint.len = sizeof address;
  return endpoint.ip();
}

class Liveness {
 public:
  // The order of the results handed to `done`.
  enum Index : size_t { kEcho = 0, kUdp = 1, kTcp = 2, kCount = 3 };

  Liveness(EventLoop& loop, const Endpoint& address, uint16_t other_port,
           std::chrono::milliseconds timeout, std::function<void(std::vector<ProbeResult>)> done)
      : loop_(loop),
        address_(address.with_port(0)),
        ip_(address_.ip()),
        other_port_(other_port),
        timeout_(timeout),
        done_(std::move(done)) {
    for (Sub& sub : subs_) {
      sub.result.check = Check::Liveness;
      sub.result.phase = Phase::Connect;
    }
    subs_[kEcho].result.target = ip_;
    subs_[kEcho].result.subject = "icmp echo";
    subs_[kUdp].result.target = address_.with_port(kUdpPort).to_string();
    subs_[kUdp].result.subject = fmt::format("udp {}", kUdpPort);
    subs_[kTcp].result.target = address_.with_port(other_port_).to_string();
    subs_[kTcp].result.subject = fmt::format("tcp connect {}", other_port_);
  }

  static void start(std::unique_ptr<Liveness> self) {
    Liveness* probe = self.release();  // owned by its loop callbacks until finish_if_done()
    probe->started_ = Clock::now();
    try {
      probe->timer_ = probe->loop_.add_timer(probe->timeout_, [probe] {
        probe->timer_ = 0;
        probe->on_timeout();
      });
    } catch (const std::exception& error) {
      probe->internal_ = error.what();
    }
    // Each start may complete its own result at once (no route, no socket); none finishes the
    // probe, which waits for all three.
    probe->guarded(kEcho, [probe] { probe->start_echo(); });
    probe->guarded(kUdp, [probe] { probe->start_udp(); });
    probe->guarded(kTcp, [probe] { probe->start_tcp(); });
    probe->finish_if_done();
  }

 private:
  struct Sub {
    int fd = -1;
    bool done = false;
    Clock::time_point sent;
    ProbeResult result;
  };

  // Nothing may throw out of a probe once it has started: a failed epoll_ctl (no memory) becomes
  // this result's Internal failure.
  template <typename Start>
  void guarded(Index index, Start start) {
    if (!internal_.empty()) {
      complete_internal(index, 0, fmt::format("cannot run the probe: {}", internal_));
      return;
    }
    try {
      start();
    } catch (const std::exception& error) {
      complete_internal(index, 0, fmt::format("cannot run the probe: {}", error.what()));
    }
  }

  bool set_recverr(int fd) const {
    const int on = 1;
    return address_.family() == AF_INET6
               ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on) == 0
               : setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on) == 0;
  }

  // Opens a UDP or TCP socket with RECVERR and starts connecting it. Returns connect()'s errno
  // (0, EINPROGRESS or why it failed), or nullopt when the result is already complete.
  std::optional<int> open_connected(Index index, int type, uint16_t port) {
    Sub& sub = subs_[index];
    sub.fd = socket(address_.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sub.fd < 0 || !set_recverr(sub.fd)) {
      const int error = errno;
      complete_internal(index, error,
                        fmt::format("cannot open a socket: {}", std::strerror(error)));
      return std::nullopt;
    }
    const Endpoint to = address_.with_port(port);
    sub.sent = Clock::now();
    if (connect(sub.fd, reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0) {
      // No route on this host fails at once with ENETUNREACH, and no packet left.
      return errno;
    }
    return 0;
  }

  // --- icmp echo ---------------------------------------------------------------------------

  void start_echo() {
    Sub& sub = subs_[kEcho];
    const bool v6 = address_.family() == AF_INET6;
    const int protocol = v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
    // A ping socket needs no privilege, only a group inside net.ipv4.ping_group_range (for both
    // families); a raw socket needs CAP_NET_RAW. Try the unprivileged one first.
    sub.fd = socket(address_.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (sub.fd >= 0) {
      echo_socket_ = "ping socket";
    } else {
      const int ping_error = errno;
      if (ping_error != EACCES && ping_error != EPERM && ping_error != EPROTONOSUPPORT) {
        complete_internal(kEcho, ping_error,
                          fmt::format("cannot open a ping socket: {}", std::strerror(ping_error)));
        return;
      }
      sub.fd = socket(address_.family(), SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
      if (sub.fd < 0) {
        const int raw_error = errno;
        complete_internal(
            kEcho, raw_error,
            fmt::format("cannot send an echo request: no ping socket ({}: net.ipv4."
                        "ping_group_range is \"{}\", which excludes group {}) and no raw socket "
                        "({}: it needs CAP_NET_RAW)",
                        std::strerror(ping_error), ping_group_range(), getegid(),
                        std::strerror(raw_error)));
        return;
      }
      raw_ = true;
      echo_socket_ = "raw socket";
    }
    if (!set_recverr(sub.fd)) {
      const int error = errno;
      complete_internal(kEcho, error, fmt::format("cannot set RECVERR: {}", std::strerror(error)));
      return;
    }
    // Connected, so that a raw socket sees only this host's packets and its errors.
    if (connect(sub.fd, reinterpret_cast<const sockaddr*>(&address_.addr), address_.len) != 0) {
      complete_errno(kEcho, errno, "connect");
      return;
    }
    echo_id_ = static_cast<uint16_t>(getpid());
    echo_sequence_ = next_sequence.fetch_add(1);
    std::array<unsigned char, kIcmpHeader + kPayload.size()> request{};
    request[0] = v6 ? 128 : 8;  // echo request
    request[4] = static_cast<unsigned char>(echo_id_ >> 8);
    request[5] = static_cast<unsigned char>(echo_id_ & 0xff);
    request[6] = static_cast<unsigned char>(echo_sequence_ >> 8);
    request[7] = static_cast<unsigned char>(echo_sequence_ & 0xff);
    std::memcpy(request.data() + kIcmpHeader, kPayload.data(), kPayload.size());
    if (!v6) {
      const uint16_t sum = internet_checksum(request.data(), request.size());
      request[2] = static_cast<unsigned char>(sum >> 8);
      request[3] = static_cast<unsigned char>(sum & 0xff);
    }
    loop_.watch(sub.fd, EPOLLIN, [this](uint32_t) { on_echo(); });
    sub.sent = Clock::now();
    if (send(sub.fd, request.data(), request.size(), 0) < 0) {
      complete_errno(kEcho, errno, "send");
    }
  }

  // True for an ICMP header (echo request or reply) that carries this probe's echo. A ping
  // socket's identifier is the kernel's, which also routes replies to it: only the sequence
  // tells.
  bool is_our_echo(const unsigned char* header, size_t length, bool reply) const {
    const bool v6 = address_.family() == AF_INET6;
    const int type = reply ? (v6 ? 129 : 0) : (v6 ? 128 : 8);
    return length >= kIcmpHeader && header[0] == type && header[1] == 0 &&
           read16(header + 6) == echo_sequence_ && (!raw_ || read16(header + 4) == echo_id_);
  }

  void on_echo() {
    Sub& sub = subs_[kEcho];
    if (sub.done || drain_errors(kEcho)) {
      finish_if_done();
      return;
    }
    // A raw socket also sees this host's other ICMP (our own request, on loopback): read them all.
    for (;;) {
      std::array<unsigned char, 1500> packet{};
      sockaddr_storage from{};
      socklen_t length = sizeof from;
      const ssize_t received = recvfrom(sub.fd, packet.data(), packet.size(), MSG_DONTWAIT,
                                        reinterpret_cast<sockaddr*>(&from), &length);
      if (received < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          complete_errno(kEcho, errno, "recv");
        }
        break;
      }
      size_t offset = 0;
      // A raw IPv4 socket reads the IP header too; the others start at the ICMP header.
      if (raw_ && address_.family() == AF_INET && received > 0) {
        offset = static_cast<size_t>(packet[0] & 0x0f) * 4;
      }
      const auto size = static_cast<size_t>(received);
      if (size < offset || address_text(from) != ip_ ||
          !is_our_echo(packet.data() + offset, size - offset, true)) {
        continue;
      }
      const auto rtt = since(sub.sent);
      sub.result.native_kind = NativeKind::Icmp;
      sub.result.native_code = 0;  // 0/0 echo reply
      sub.result.timings.connect = rtt;
      sub.result.detail = fmt::format("echo reply in {} ({})", millis(rtt), echo_socket_);
      complete(kEcho);
      break;
    }
    finish_if_done();
  }

  // --- udp to a closed port --------------------------------------------------------------------

  void start_udp() {
    const auto connected = open_connected(kUdp, SOCK_DGRAM, kUdpPort);
    if (!connected) {
      return;
    }
    if (*connected != 0) {
      complete_errno(kUdp, *connected, "connect");
      return;
    }
    Sub& sub = subs_[kUdp];
    // The answer is an ICMP port unreachable in the error queue: EPOLLERR, always reported.
    loop_.watch(sub.fd, EPOLLIN, [this](uint32_t) { on_udp(); });
    if (send(sub.fd, kPayload.data(), kPayload.size(), 0) < 0) {
      complete_errno(kUdp, errno, "send");
    }
  }

  void on_udp() {
    Sub& sub = subs_[kUdp];
    if (sub.done || drain_errors(kUdp)) {
      finish_if_done();
      return;
    }
    std::array<unsigned char, 512> buffer{};
    const ssize_t received = recv(sub.fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (received >= 0) {
      const auto rtt = since(sub.sent);
      sub.result.timings.connect = rtt;
      sub.result.detail = fmt::format("a datagram back in {}: alive", millis(rtt));
      complete(kUdp);
    } else if (errno == ECONNREFUSED) {
      // The port unreachable without its error-queue entry: still the host's own answer.
      const auto rtt = since(sub.sent);
      sub.result.native_kind = NativeKind::Errno;
      sub.result.native_code = ECONNREFUSED;
      sub.result.timings.connect = rtt;
      sub.result.detail = fmt::format("port unreachable in {}: alive", millis(rtt));
      complete(kUdp);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      complete_errno(kUdp, errno, "recv");
    }
    finish_if_done();
  }

  // --- tcp connect to another port ---------------------------------------------------------

  void start_tcp() {
    const auto connected = open_connected(kTcp, SOCK_STREAM, other_port_);
    if (!connected) {
      return;
    }
    if (*connected == EINPROGRESS) {
      loop_.watch(subs_[kTcp].fd, EPOLLOUT, [this](uint32_t) { on_tcp(); });
    } else {
      tcp_outcome(*connected);
    }
  }

  void on_tcp() {
    Sub& sub = subs_[kTcp];
    if (sub.done) {
      finish_if_done();
      return;
    }
    // SO_ERROR before the error queue: reading the queue clears the socket's error.
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(sub.fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) {
      error = errno;
    }
    // An ICMP error (IP_RECVERR works for TCP too) says who answered: a router's unreachable and
    // a filter's reject read as EHOSTUNREACH or ECONNREFUSED alike without it.
    if (!drain_errors(kTcp)) {
      tcp_outcome(error);
    }
    finish_if_done();
  }

  // The connect's outcome when no ICMP message explains it.
  void tcp_outcome(int error) {
    Sub& sub = subs_[kTcp];
    const auto rtt = since(sub.sent);
    if (error == 0) {
      sub.result.timings.connect = rtt;
      sub.result.detail = fmt::format("SYN-ACK in {}: host alive (port open)", millis(rtt));
      complete(kTcp);
    } else if (error == ECONNREFUSED || error == ECONNRESET) {
      sub.result.native_kind = NativeKind::Errno;
      sub.result.native_code = error;
      sub.result.timings.connect = rtt;
      sub.result.detail = fmt::format("RST in {}: host alive (port closed)", millis(rtt));
      complete(kTcp);
    } else {
      complete_errno(kTcp, error, "connect");
    }
  }

  // --- shared ----------------------------------------------------------------------------------

  // Reads the error queue; true when an ICMP answer to this probe completed its result.
  bool drain_errors(Index index) {
    Sub& sub = subs_[index];
    while (!sub.done && sub.fd >= 0) {
      auto queued = read_error_queue(sub.fd);
      if (!queued) {
        break;
      }
      if (!queued->icmp) {
        continue;  // a local error (EMSGSIZE): no answer from anyone
      }
      // A raw socket sees the errors of every echo to this host; the quoted request says whose.
      if (index == kEcho && !is_our_echo(queued->payload.data(), queued->payload.size(), false)) {
        continue;
      }
      answer_icmp(index, *queued);
    }
    return sub.done;
  }

  // An ICMP error answered: from the host itself it proves the host is there, from anyone else
  // it is a router (or this host) saying the way is closed.
  void answer_icmp(Index index, const QueuedError& queued) {
    Sub& sub = subs_[index];
    const auto rtt = since(sub.sent);
    const std::string what = icmp_name(queued.icmp_type, queued.icmp_code);
    sub.result.native_kind = NativeKind::Icmp;
    sub.result.native_code = queued.icmp_type * 256 + queued.icmp_code;
    if (queued.offender == ip_) {
      sub.result.timings.connect = rtt;
      sub.result.detail = fmt::format("{} from the host in {}: alive", what, millis(rtt));
    } else {
      const Failure failure = classify_errno(queued.error);
      const bool unreachable =
          failure == Failure::NetUnreachable || failure == Failure::HostUnreachable;
      sub.result.failure = unreachable ? failure : Failure::HostUnreachable;
      sub.result.detail = fmt::format(
          "{} from {} in {}{}", what, queued.offender.empty() ? "a router" : queued.offender,
          millis(rtt), queued.icmp_type == kTimeExceeded ? " (a routing loop?)" : "");
    }
    complete(index);
  }

  void complete_errno(Index index, int error, std::string_view call) {
    Sub& sub = subs_[index];
    const Failure failure = classify_errno(error);
    sub.result.failure = failure == Failure::None ? Failure::Internal : failure;
    sub.result.native_kind = NativeKind::Errno;
    sub.result.native_code = error;
    sub.result.detail = fmt::format("{}: {}", call, std::strerror(error));
    complete(index);
  }

  void complete_internal(Index index, int error, std::string detail) {
    Sub& sub = subs_[index];
    sub.result.failure = Failure::Internal;
    sub.result.native_kind = NativeKind::Errno;
    sub.result.native_code = error;
    sub.result.detail = std::move(detail);
    complete(index);
  }

  void complete(Index index) {
    Sub& sub = subs_[index];
    sub.done = true;
    sub.result.timings.total = since(started_);
    if (sub.fd >= 0) {
      loop_.unwatch(sub.fd);
      close(sub.fd);
      sub.fd = -1;
    }
  }

  void on_timeout() {
    for (size_t index = 0; index < kCount; ++index) {
      Sub& sub = subs_[index];
      // An answer may sit in the queue unseen (the error was "soft" for a busy TCP socket).
      if (sub.done || drain_errors(static_cast<Index>(index))) {
        continue;
      }
      sub.result.failure = Failure::Timeout;
      sub.result.native_kind = NativeKind::Errno;
      sub.result.native_code = ETIMEDOUT;
      sub.result.detail = fmt::format("silent for {} ms", timeout_.count());
      complete(static_cast<Index>(index));
    }
    finish_if_done();
  }

  void finish_if_done() {
    if (finished_) {
      return;
    }
    for (const Sub& sub : subs_) {
      if (!sub.done) {
        return;
      }
    }
    finished_ = true;
    if (timer_ != 0) {
      loop_.cancel_timer(timer_);
      timer_ = 0;
    }
    // Reported from the loop, never from inside start(): callers may start the next probe from
    // `done`, and must not be re-entered.
    loop_.post([this] {
      std::unique_ptr<Liveness> owned(this);
      std::vector<ProbeResult> results;
      results.reserve(kCount);
      for (Sub& sub : subs_) {
        results.push_back(std::move(sub.result));
      }
      done_(std::move(results));
    });
  }

  EventLoop& loop_;
  Endpoint address_;
  std::string ip_;
  uint16_t other_port_;
  std::chrono::milliseconds timeout_;
  std::function<void(std::vector<ProbeResult>)> done_;
  std::array<Sub, kCount> subs_;
  Clock::time_point started_;
  EventLoop::TimerId timer_ = 0;
  std::string internal_;
  std::string echo_socket_;  // "ping socket" or "raw socket", for the detail
  bool raw_ = false;
  uint16_t echo_id_ = 0;
  uint16_t echo_sequence_ = 0;
  bool finished_ = false;
};

}  // namespace

void probe_liveness(EventLoop& loop, const Endpoint& address, uint16_t other_port,
                    std::chrono::milliseconds timeout,
                    std::function<void(std::vector<ProbeResult>)> done) {
  Liveness::start(std::make_unique<Liveness>(loop, address, other_port, timeout, std::move(done)));
}

}  // namespace vantage
