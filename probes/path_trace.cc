#include "path_trace.hh"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <tuple>

#include "classify.hh"
#include "event_loop.hh"
#include "routed_prefix.hh"

namespace vantage {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kMaxTtl = 64;
// TTLs in flight at once. Each router on the way sees exactly one probe expire at it, so its ICMP
// rate limit (Linux: a burst of 6, then one a second per destination) never bites; the
// destination, though, answers every probe that reaches it. Sending all 24 at once would make it
// answer up to 23 port unreachables, drain its limiter, and leave the liveness probe that runs
// next to this trace (a datagram to a closed port of the same host) to meet silence. Waves of 4
// keep the destination's answers inside the burst, and a trace through answering routers still
// moves on as fast as they answer: the next wave leaves as soon as the last one is all answered.
constexpr int kWaveSize = 4;
// A wave whose hops stay silent is not waited for beyond its share of the timeout.
constexpr milliseconds kMinWaveGap{50};
constexpr milliseconds kMaxWaveGap{1000};
// Once the path has ended (the destination or a router's unreachable answered), lower TTLs still
// unanswered get this long, at least, to arrive: routers answer from their slow path.
constexpr milliseconds kMinGrace{50};
// Silent hops shown after the last answer: enough to read as "dies here".
constexpr int kStarsAfterLastAnswer = 3;
constexpr std::string_view kPayload = "vantage path trace";

constexpr int kIcmpEchoReply = 0;
constexpr int kIcmpUnreachable = 3;
constexpr int kIcmpEchoRequest = 8;
constexpr int kIcmpTimeExceeded = 11;
constexpr int kIcmpParameterProblem = 12;

std::chrono::microseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

std::string millis(std::chrono::microseconds elapsed) {
  return fmt::format("{:.1f} ms", static_cast<double>(elapsed.count()) / 1000.0);
}

std::string address_text(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, &address, sizeof v4);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
  } else if (address.ss_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, &address, sizeof v6);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
  }
  return text;
}

// traceroute's annotations for a router's unreachable.
std::string_view annotation(int type, int code) {
  if (type != kIcmpUnreachable) {
    return type == kIcmpTimeExceeded ? "" : " !";
  }
  switch (code) {
    case 0:
      return " !N";
    case 1:
      return " !H";
    case 2:
      return " !P";
    case 4:
      return " !F";
    case 9:
    case 10:
    case 13:
      return " !X";
    default:
      return " !";
  }
}

class PathTrace {
 public:
  PathTrace(EventLoop& loop, const Endpoint& destination, PathOptions options, ProbeDone done)
      : loop_(loop),
        destination_(destination.with_port(0)),
        options_(std::move(options)),
        done_(std::move(done)),
        max_hops_(std::clamp(options_.max_hops, 1, kMaxTtl)),
        hops_(static_cast<size_t>(max_hops_)) {
    result_.check = Check::Path;
    result_.target = destination_.ip();
    result_.subject = "traceroute udp";
    result_.phase = Phase::Connect;
    details_.destination = destination_.ip();
    if (options_.lookup) {
      if (auto info = options_.lookup(details_.destination)) {
        details_.network = info->network;
        if (info->asn > 0) {
          details_.destination_asn = info->asn;
        }
      }
    }
    if (details_.network.empty()) {
      if (const auto prefix = RoutedPrefix::covering(details_.destination)) {
        details_.network = prefix->to_string();
      }
    }
  }

  static void start(std::unique_ptr<PathTrace> self) {
    PathTrace* trace = self.release();  // owned by its loop callbacks until finish()
    trace->started_ = Clock::now();
    const auto timeout = std::max(trace->options_.timeout, milliseconds(1));
    const int waves = (trace->max_hops_ + kWaveSize - 1) / kWaveSize;
    trace->wave_gap_ = std::clamp(timeout / (waves + 1), kMinWaveGap, kMaxWaveGap);
    trace->deadline_ = trace->started_ + timeout;
    trace->finish_timer_ = trace->loop_.add_timer(trace->deadline_, [trace] {
      trace->finish_timer_ = 0;
      trace->finish();
    });
    trace->send_wave();
  }

 private:
  struct Hop {
    int fd = -1;
    Clock::time_point sent;
    bool answered = false;
    int error = 0;  // ee_errno of the answer
    PathHop hop;
  };

  Hop& hop_at(int ttl) { return hops_[static_cast<size_t>(ttl - 1)]; }

  // Sends the next wave of TTLs, unless the path has ended or every TTL is out; re-arms itself
  // for the case that the wave stays (partly) silent.
  void send_wave() {
    if (wave_timer_ != 0) {
      loop_.cancel_timer(wave_timer_);
      wave_timer_ = 0;
    }
    if (finished_ || terminal_ttl_ != 0 || sent_ >= max_hops_) {
      return;
    }
    try {
      const int last = std::min(sent_ + kWaveSize, max_hops_);
      while (sent_ < last) {
        if (!send_probe(sent_ + 1)) {
          finish();
          return;
        }
        ++sent_;
      }
      if (sent_ < max_hops_) {
        wave_timer_ = loop_.add_timer(wave_gap_, [this] {
          wave_timer_ = 0;
          send_wave();
        });
      }
    } catch (const std::exception& error) {
      // Only epoll_ctl can throw (no memory, no watches left); reported, never thrown.
      internal_ = fmt::format("cannot run the trace: {}", error.what());
      finish();
    }
  }

  // One UDP socket per TTL: the error queue of the socket that sent TTL n holds the answer to TTL
  // n, so nothing in the quoted payload needs parsing to match an answer to its probe.
  bool send_probe(int ttl) {
    Hop& hop = hop_at(ttl);
    const bool v6 = destination_.family() == AF_INET6;
    hop.fd = socket(destination_.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (hop.fd < 0) {
      internal_errno_ = errno;
      internal_ = fmt::format("cannot open a UDP socket: {}", std::strerror(internal_errno_));
      return false;
    }
    const int on = 1;
    const bool configured =
        v6 ? setsockopt(hop.fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) == 0 &&
                 setsockopt(hop.fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on) == 0
           : setsockopt(hop.fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) == 0 &&
                 setsockopt(hop.fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on) == 0;
    if (!configured) {
      internal_errno_ = errno;
      internal_ = fmt::format("cannot set the TTL or RECVERR: {}", std::strerror(internal_errno_));
      return false;
    }
    const Endpoint to = destination_.with_port(static_cast<uint16_t>(kTracePortBase + ttl));
    // A route this host lacks (or an unreachable / prohibit route) fails here, before any packet.
    if (connect(hop.fd, reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0) {
      local_errno_ = errno;
      local_what_ = "connect";
      return false;
    }
    // EPOLLERR (always reported) is how an ICMP answer arrives; EPOLLIN only if something at the
    // destination answers the datagram itself.
    loop_.watch(hop.fd, EPOLLIN, [this, ttl](uint32_t) { on_ready(ttl); });
    hop.sent = Clock::now();
    if (send(hop.fd, kPayload.data(), kPayload.size(), 0) < 0) {
      local_errno_ = errno;
      local_what_ = "send";
      return false;
    }
    return true;
  }

  void on_ready(int ttl) {
    Hop& hop = hop_at(ttl);
    if (hop.fd < 0 || finished_) {
      return;
    }
    while (auto queued = read_error_queue(hop.fd)) {
      // A local error (EMSGSIZE and friends) is no answer from the path.
      if (queued->icmp && !hop.answered) {
        record(ttl, *queued);
      }
    }
    if (!hop.answered) {
      std::array<unsigned char, 512> buffer{};
      sockaddr_storage from{};
      socklen_t length = sizeof from;
      // Also clears a pending socket error, so a level-triggered EPOLLERR cannot spin.
      const ssize_t received = recvfrom(hop.fd, buffer.data(), buffer.size(), MSG_DONTWAIT,
                                        reinterpret_cast<sockaddr*>(&from), &length);
      if (received >= 0) {
        // Something listens on that port: the destination answered the datagram itself.
        QueuedError reply;
        reply.icmp = true;
        reply.offender = address_text(from);
        record(ttl, reply);
      }
    }
    if (!hop.answered) {
      return;
    }
    loop_.unwatch(hop.fd);
    close(hop.fd);
    hop.fd = -1;
    after_answer();
  }

  void record(int ttl, const QueuedError& queued) {
    Hop& hop = hop_at(ttl);
    hop.answered = true;
    hop.error = queued.error;
    hop.hop.ttl = ttl;
    hop.hop.address = queued.offender;
    hop.hop.rtt = since(hop.sent);
    hop.hop.icmp_type = queued.icmp_type;
    hop.hop.icmp_code = queued.icmp_code;
    if (options_.lookup && !queued.offender.empty()) {
      if (auto info = options_.lookup(queued.offender); info && info->asn > 0) {
        hop.hop.asn = info->asn;
      }
    }
    // Time exceeded is a router on the way; anything else (the destination's port unreachable, a
    // router's unreachable or prohibited) is where this path ends, for every higher TTL too.
    const bool ends_path =
        queued.offender == details_.destination || queued.icmp_type != kIcmpTimeExceeded;
    if (ends_path && (terminal_ttl_ == 0 || ttl < terminal_ttl_)) {
      terminal_ttl_ = ttl;
      if (wave_timer_ != 0) {
        loop_.cancel_timer(wave_timer_);
        wave_timer_ = 0;
      }
    }
  }

  bool all_answered_below(int ttl) {
    for (int t = 1; t < ttl; ++t) {
      if (!hop_at(t).answered) {
        return false;
      }
    }
    return true;
  }

  void after_answer() {
    if (terminal_ttl_ != 0) {
      if (all_answered_below(terminal_ttl_)) {
        finish();
        return;
      }
      if (!grace_armed_) {
        grace_armed_ = true;
        const auto rtt = hop_at(terminal_ttl_).hop.rtt.value_or(std::chrono::microseconds(0));
        const auto grace = std::max<Clock::duration>(kMinGrace, rtt);
        const auto when = std::min(deadline_, Clock::now() + grace);
        if (finish_timer_ != 0) {
          loop_.cancel_timer(finish_timer_);
        }
        finish_timer_ = loop_.add_timer(when, [this] {
          finish_timer_ = 0;
          finish();
        });
      }
      return;
    }
    if (all_answered_below(sent_ + 1)) {
      if (sent_ >= max_hops_) {
        finish();  // every TTL answered time exceeded: the path is longer than max_hops
      } else {
        send_wave();
      }
    }
  }

  void finish() {
    if (finished_) {
      return;
    }
    finished_ = true;
    for (const EventLoop::TimerId timer : {finish_timer_, wave_timer_}) {
      if (timer != 0) {
        loop_.cancel_timer(timer);
      }
    }
    finish_timer_ = wave_timer_ = 0;
    for (Hop& hop : hops_) {
      if (hop.fd >= 0) {
        loop_.unwatch(hop.fd);
        close(hop.fd);
        hop.fd = -1;
      }
    }
    build_result();
    // Reported from the loop, never from inside start(): callers may start the next probe from
    // `done`, and must not be re-entered.
    loop_.post([this] {
      std::unique_ptr<PathTrace> owned(this);
      done_(std::move(result_));
    });
  }

  bool in_network(const PathHop& hop) const {
    if (hop.address.empty()) {
      return false;
    }
    if (details_.destination_asn && hop.asn == details_.destination_asn) {
      return true;
    }
    const auto prefix = RoutedPrefix::parse(details_.network);
    return hop.address == details_.destination || (prefix && prefix->contains(hop.address));
  }

  // "192.0.2.254 → * → 203.0.113.1 → * * *"
  std::string path_text() const {
    std::string text;
    bool previous_star = false;
    for (const PathHop& hop : details_.hops) {
      const bool star = hop.address.empty();
      if (!text.empty()) {
        text += star && previous_star ? " " : " → ";
      }
      if (star) {
        text += "*";
      } else {
        text += hop.address;
        if (hop.asn) {
          text += fmt::format(" AS{}", *hop.asn);
        }
        if (hop.address != details_.destination) {
          text += annotation(hop.icmp_type, hop.icmp_code);
        }
      }
      previous_star = star;
    }
    return text.empty() ? "*" : text;
  }

  void build_result() {
    result_.timings.total = since(started_);
    int highest_answer = 0;
    for (int ttl = 1; ttl <= sent_; ++ttl) {
      if (hop_at(ttl).answered) {
        highest_answer = ttl;
      }
    }
    const int last = terminal_ttl_ != 0 ? terminal_ttl_
                                        : std::min(sent_, highest_answer + kStarsAfterLastAnswer);
    const PathHop* first_in_network = nullptr;
    const Hop* deepest = nullptr;
    for (int ttl = 1; ttl <= last; ++ttl) {
      const Hop& hop = hop_at(ttl);
      if (hop.answered) {
        details_.hops.push_back(hop.hop);
        deepest = &hop;
      } else {
        PathHop silent;
        silent.ttl = ttl;
        details_.hops.push_back(silent);
      }
    }
    for (const PathHop& hop : details_.hops) {
      details_.reached_destination =
          details_.reached_destination || hop.address == details_.destination;
      if (first_in_network == nullptr && in_network(hop)) {
        first_in_network = &hop;
      }
    }
    details_.reached_network = details_.reached_destination || first_in_network != nullptr;
    const std::string path = path_text();
    if (deepest != nullptr) {
      result_.native_kind = NativeKind::Icmp;
      result_.native_code = deepest->hop.icmp_type * 256 + deepest->hop.icmp_code;
    }

    if (!internal_.empty()) {
      result_.failure = Failure::Internal;
      result_.native_kind = NativeKind::Errno;
      result_.native_code = internal_errno_;
      result_.detail = internal_;
    } else if (details_.reached_destination) {
      const PathHop& reached = details_.hops.back();
      result_.timings.connect = reached.rtt;
      result_.detail =
          fmt::format("{}: reached {} at hop {} in {}", path, details_.destination, reached.ttl,
                      millis(reached.rtt.value_or(result_.timings.total.value())));
    } else if (details_.reached_network) {
      const std::string then =
          terminal_ttl_ != 0
              ? fmt::format("then {} from {}",
                            icmp_name(deepest->hop.icmp_type, deepest->hop.icmp_code),
                            deepest->hop.address)
              : fmt::format("{} silent", details_.destination);
      result_.detail = fmt::format("{}: reached {} at hop {} ({}), {}", path, details_.network,
                                   first_in_network->ttl, first_in_network->address, then);
    } else if (terminal_ttl_ != 0) {
      const Failure failure = classify_errno(deepest->error);
      result_.failure = failure == Failure::NetUnreachable ? failure : Failure::HostUnreachable;
      result_.detail = fmt::format("{}: {} from {} at hop {}, before {}", path,
                                   icmp_name(deepest->hop.icmp_type, deepest->hop.icmp_code),
                                   deepest->hop.address, deepest->hop.ttl, details_.network);
    } else if (local_errno_ != 0 && sent_ == 0) {
      // Nothing left this host (hops is empty): the first connect() or send() failed.
      const Failure failure = classify_errno(local_errno_);
      result_.failure = failure == Failure::None ? Failure::Internal : failure;
      result_.native_kind = NativeKind::Errno;
      result_.native_code = local_errno_;
      result_.detail = fmt::format("no route from this vantage to {} ({}: {})",
                                   details_.destination, local_what_, std::strerror(local_errno_));
    } else {
      result_.failure = Failure::Timeout;
      result_.native_kind = NativeKind::Errno;
      result_.native_code = ETIMEDOUT;
      result_.detail = deepest == nullptr
                           ? fmt::format("{}: silent from hop 1, before {}", path, details_.network)
                           : fmt::format("{}: dies after hop {}, before {}", path, deepest->hop.ttl,
                                         details_.network);
    }
    result_.path = std::move(details_);
  }

  EventLoop& loop_;
  Endpoint destination_;
  PathOptions options_;
  ProbeDone done_;
  int max_hops_;
  std::vector<Hop> hops_;  // index ttl - 1; never resized, the callbacks hold TTLs
  ProbeResult result_;
  PathDetails details_;
  Clock::time_point started_;
  Clock::time_point deadline_;
  Clock::duration wave_gap_{};
  int sent_ = 0;          // TTLs 1..sent_ are out
  int terminal_ttl_ = 0;  // the lowest TTL whose answer ended the path; 0 while none did
  int local_errno_ = 0;
  std::string local_what_;
  std::string internal_;
  int internal_errno_ = 0;
  bool grace_armed_ = false;
  bool finished_ = false;
  EventLoop::TimerId finish_timer_ = 0;
  EventLoop::TimerId wave_timer_ = 0;
};

}  // namespace

std::optional<QueuedError> read_error_queue(int fd) {
  std::array<unsigned char, 576> data{};
  // Room for the extended error and its offender address, with cmsghdr alignment.
  alignas(cmsghdr)
      std::array<char, CMSG_SPACE(sizeof(sock_extended_err) + sizeof(sockaddr_in6)) * 2>
          control{};
  iovec vector{data.data(), data.size()};
  msghdr message{};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  const ssize_t length = recvmsg(fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT);
  if (length < 0) {
    return std::nullopt;
  }
  QueuedError queued;
  queued.payload.assign(data.begin(),
                        data.begin() + std::min(static_cast<size_t>(length), data.size()));
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    const bool v4 = header->cmsg_level == SOL_IP && header->cmsg_type == IP_RECVERR;
    const bool v6 = header->cmsg_level == SOL_IPV6 && header->cmsg_type == IPV6_RECVERR;
    if ((!v4 && !v6) || header->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) {
      continue;
    }
    sock_extended_err error{};
    std::memcpy(&error, CMSG_DATA(header), sizeof error);
    queued.error = static_cast<int>(error.ee_errno);
    if (error.ee_origin == SO_EE_ORIGIN_ICMP) {
      queued.icmp = true;
      queued.icmp_type = error.ee_type;
      queued.icmp_code = error.ee_code;
    } else if (error.ee_origin == SO_EE_ORIGIN_ICMP6) {
      queued.icmp = true;
      std::tie(queued.icmp_type, queued.icmp_code) = icmp6_as_icmp4(error.ee_type, error.ee_code);
    }
    // SO_EE_OFFENDER: the sender's address follows the extended error.
    const size_t offender_length = header->cmsg_len - CMSG_LEN(sizeof error);
    if (offender_length >= sizeof(sockaddr_in)) {
      sockaddr_storage offender{};
      std::memcpy(&offender, CMSG_DATA(header) + sizeof error,
                  std::min(offender_length, sizeof offender));
      queued.offender = address_text(offender);
    }
  }
  return queued;
}

std::pair<int, int> icmp6_as_icmp4(int type, int code) {
  switch (type) {
    case 1:  // destination unreachable
      switch (code) {
        case 0:  // no route
          return {kIcmpUnreachable, 0};
        case 3:  // address unreachable
        case 2:  // beyond the scope of the source address
          return {kIcmpUnreachable, 1};
        case 4:  // port unreachable
          return {kIcmpUnreachable, 3};
        default:  // 1 administratively prohibited, 5 source policy, 6 reject route
          return {kIcmpUnreachable, 13};
      }
    case 2:  // packet too big
      return {kIcmpUnreachable, 4};
    case 3:  // time exceeded: 0 hop limit, 1 reassembly, as in IPv4
      return {kIcmpTimeExceeded, code};
    case 4:
      return {kIcmpParameterProblem, 0};
    case 128:
      return {kIcmpEchoRequest, 0};
    case 129:
      return {kIcmpEchoReply, 0};
    default:
      return {type, code};
  }
}

std::string icmp_name(int type, int code) {
  switch (type) {
    case kIcmpEchoReply:
      return "echo reply";
    case kIcmpEchoRequest:
      return "echo request";
    case kIcmpTimeExceeded:
      return code == 0 ? "time exceeded" : "reassembly time exceeded";
    case kIcmpParameterProblem:
      return "parameter problem";
    case kIcmpUnreachable:
      switch (code) {
        case 0:
          return "net unreachable";
        case 1:
          return "host unreachable";
        case 2:
          return "protocol unreachable";
        case 3:
          return "port unreachable";
        case 4:
          return "fragmentation needed";
        case 9:
        case 10:
        case 13:
          return "administratively prohibited";
        default:
          return fmt::format("destination unreachable (code {})", code);
      }
    default:
      return fmt::format("icmp {}/{}", type, code);
  }
}

void probe_path(EventLoop& loop, const Endpoint& destination, PathOptions options, ProbeDone done) {
  PathTrace::start(
      std::make_unique<PathTrace>(loop, destination, std::move(options), std::move(done)));
}

}  // namespace vantage
