#include "ares_driver.hh"

#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "classify.hh"
#include "dns_message.hh"
#include "dnssec_wire.hh"
#include "event_loop.hh"

namespace vantage {

AresLibrary::AresLibrary() {
  if (const int status = ares_library_init(ARES_LIB_INIT_ALL); status != ARES_SUCCESS) {
    throw std::runtime_error(fmt::format("ares_library_init: {}", ares_strerror(status)));
  }
}

AresLibrary::~AresLibrary() {
  ares_library_cleanup();
}

namespace {

constexpr int kTries = 2;  // one retransmission: a single lost datagram is not an outage
// c-ares 1.18 doubles the wait for each retry (t, then 2t), so the probe's whole budget is split
// in three parts for the two tries to end together with it.
constexpr int kTimeoutParts = 3;

// One channel for one query to one server. The channel is ours alone, so the socket errno the
// socket functions below record belongs to this server: c-ares itself reports only
// ARES_ECONNREFUSED for every socket error, and ENETUNREACH vs ECONNREFUSED is the whole point.
class Exchange {
 public:
  Exchange(EventLoop& loop, const DnsQuery& query, Check check, ProbeDone done)
      : loop_(loop), query_(query), done_(std::move(done)) {
    result_.check = check;
    result_.target = query.server.to_string();
    result_.subject = fmt::format("{} {}", query.name, type_name(query.type));
    result_.phase = Phase::Resolve;
  }

  ~Exchange() {
    if (timer_ != 0) {
      loop_.cancel_timer(timer_);
    }
    if (channel_ != nullptr) {
      ares_destroy(channel_);
    }
  }

  static void start(std::unique_ptr<Exchange> self) {
    Exchange* exchange = self.release();  // owned by the channel callbacks from here on
    if (!exchange->init()) {
      exchange->finish();
      return;
    }
    const auto query = build_query(exchange->query_.name, exchange->query_.type,
                                   exchange->query_.recursion_desired);
    if (query.empty()) {
      exchange->fail_internal("cannot encode the query name");
      exchange->finish();
      return;
    }
    exchange->started_ = std::chrono::steady_clock::now();
    ares_send(exchange->channel_, query.data(), static_cast<int>(query.size()), &on_response,
              exchange);
    exchange->rearm_timer();
  }

 private:
  bool init() {
    ares_options options{};
    // ARES_FLAG_EDNS with the payload size our queries offer: without it c-ares 1.18 takes any
    // UDP answer over 512 bytes for truncated and asks again over TCP, which a signed answer
    // would need every time, and which fails where TCP port 53 is filtered.
    options.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS |
                    (query_.recursion_desired ? 0 : ARES_FLAG_NORECURSE);
    options.ednspsz = kEdnsPayloadSize;
    options.timeout =
        static_cast<int>(std::max<int64_t>(1, query_.timeout.count() / kTimeoutParts));
    options.tries = kTries;
    options.sock_state_cb = &on_socket_state;
    options.sock_state_cb_data = this;
    options.nservers = 0;
    options.servers = nullptr;
    const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
                     ARES_OPT_SERVERS | ARES_OPT_EDNSPSZ;
    if (const int status = ares_init_options(&channel_, &options, mask); status != ARES_SUCCESS) {
      channel_ = nullptr;
      fail_internal(fmt::format("ares_init_options: {}", ares_strerror(status)));
      return false;
    }
    ares_set_socket_functions(channel_, &kSocketFunctions, this);

    ares_addr_port_node server{};
    server.family = query_.server.family();
    const auto& storage = query_.server.addr;
    if (server.family == AF_INET6) {
      std::memcpy(&server.addr.addr6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr,
                  sizeof server.addr.addr6);
    } else {
      std::memcpy(&server.addr.addr4, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr,
                  sizeof server.addr.addr4);
    }
    server.udp_port = query_.server.port();
    server.tcp_port = query_.server.port();
    if (const int status = ares_set_servers_ports(channel_, &server); status != ARES_SUCCESS) {
      fail_internal(fmt::format("ares_set_servers_ports: {}", ares_strerror(status)));
      return false;
    }
    return true;
  }

  void fail_internal(std::string detail) {
    result_.failure = Failure::Internal;
    result_.detail = std::move(detail);
  }

  // The loop owns deleting us: never from inside a c-ares callback, where the channel that is
  // calling us must stay alive.
  void finish() {
    if (finished_) {
      return;
    }
    finished_ = true;
    loop_.post([this] {
      std::unique_ptr<Exchange> owned(this);
      auto done = std::move(done_);
      auto result = std::move(result_);
      owned.reset();
      done(std::move(result));
    });
  }

  void rearm_timer() {
    if (timer_ != 0) {
      loop_.cancel_timer(timer_);
      timer_ = 0;
    }
    if (finished_ || channel_ == nullptr) {
      return;
    }
    timeval wait{};
    if (ares_timeout(channel_, nullptr, &wait) == nullptr) {
      return;
    }
    const auto delay = std::chrono::seconds(wait.tv_sec) + std::chrono::microseconds(wait.tv_usec);
    timer_ = loop_.add_timer(delay, [this] {
      timer_ = 0;
      ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      rearm_timer();
    });
  }

  // ARES_OPT_SOCK_STATE_CB
  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Exchange*>(data);
    if (!readable && !writable) {
      self->loop_.unwatch(fd);
      return;
    }
    const uint32_t events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
    self->loop_.watch(fd, events, [self, fd](uint32_t happened) {
      // An error or hang-up is handed to c-ares as "readable": its read then fails and it learns
      // the socket's errno, which is how an ICMP port unreachable reaches it.
      const bool read = (happened & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
      const bool write = (happened & EPOLLOUT) != 0;
      ares_process_fd(self->channel_, read ? fd : ARES_SOCKET_BAD, write ? fd : ARES_SOCKET_BAD);
      self->rearm_timer();
    });
  }

  // ares_callback for ares_send
  static void on_response(void* arg, int status, int /*timeouts*/, unsigned char* answer,
                          int length) {
    auto* self = static_cast<Exchange*>(arg);
    if (self->finished_) {
      return;
    }
    self->record(status, answer, length);
    self->finish();
  }

  void record(int status, const unsigned char* answer, int length) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started_);
    result_.timings.resolve = elapsed;
    result_.timings.total = elapsed;
    if (status != ARES_SUCCESS) {
      if (socket_errno_ != 0) {
        // The server was never reached: the question failed at the network, not in DNS.
        result_.phase = Phase::Connect;
        result_.failure = classify_errno(socket_errno_);
        result_.native_code = socket_errno_;
        result_.native_kind = NativeKind::Errno;
        result_.detail = std::strerror(socket_errno_);
      } else {
        result_.failure = classify_ares_status(status);
        result_.native_code = status;
        result_.native_kind = NativeKind::Ares;
        result_.detail = ares_strerror(status);
      }
      return;
    }
    auto details = parse_response(answer, length);
    if (!details) {
      result_.failure = Failure::BadResponse;
      result_.detail = "malformed response";
      return;
    }
    const DnsClassified classified = classify_dns_response(*details);
    result_.failure = classified.failure;
    result_.native_code = classified.native_code;
    result_.native_kind = classified.native_kind;
    result_.detail = std::string(rcode_name(details->rcode));
    if (const auto& error = classified.explanation) {
      result_.detail += ", " + extended_error_name(error->code);
      if (!error->text.empty()) {
        result_.detail += ": " + error->text;
      }
    }
    result_.dns = std::move(*details);
  }

  void note_errno(int error) {
    if (error != EAGAIN && error != EWOULDBLOCK && error != EINPROGRESS && error != EINTR) {
      socket_errno_ = error;
    }
  }

  static ares_socket_t open_socket(int domain, int type, int protocol, void* /*data*/) {
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  }
  static int close_socket(ares_socket_t fd, void* /*data*/) { return close(fd); }
  static int connect_socket(ares_socket_t fd, const sockaddr* address, ares_socklen_t length,
                            void* data) {
    const int rc = connect(fd, address, length);
    if (rc < 0) {
      const int error = errno;
      static_cast<Exchange*>(data)->note_errno(error);
      errno = error;
    }
    return rc;
  }
  static ares_ssize_t receive(ares_socket_t fd, void* buffer, size_t length, int flags,
                              sockaddr* from, ares_socklen_t* from_length, void* data) {
    const ssize_t rc = recvfrom(fd, buffer, length, flags, from, from_length);
    if (rc < 0) {
      const int error = errno;
      static_cast<Exchange*>(data)->note_errno(error);
      errno = error;
    }
    return rc;
  }
  static ares_ssize_t send_vector(ares_socket_t fd, const iovec* vector, int count, void* data) {
    const ssize_t rc = writev(fd, vector, count);
    if (rc < 0) {
      const int error = errno;
      static_cast<Exchange*>(data)->note_errno(error);
      errno = error;
    }
    return rc;
  }

  static constexpr ares_socket_functions kSocketFunctions = {
      &open_socket, &close_socket, &connect_socket, &receive, &send_vector};

  EventLoop& loop_;
  DnsQuery query_;
  ProbeDone done_;
  ProbeResult result_;
  ares_channel channel_ = nullptr;
  EventLoop::TimerId timer_ = 0;
  std::chrono::steady_clock::time_point started_;
  int socket_errno_ = 0;
  bool finished_ = false;
};

}  // namespace

void dns_exchange(EventLoop& loop, const DnsQuery& query, Check check, ProbeDone done) {
  Exchange::start(std::make_unique<Exchange>(loop, query, check, std::move(done)));
}

std::vector<Endpoint> system_resolvers() {
  ares_channel channel = nullptr;
  if (ares_init(&channel) != ARES_SUCCESS) {
    return {};
  }
  std::unique_ptr<ares_channeldata, decltype(&ares_destroy)> owned(channel, &ares_destroy);
  ares_addr_port_node* servers = nullptr;
  if (ares_get_servers_ports(channel, &servers) != ARES_SUCCESS) {
    return {};
  }
  std::unique_ptr<ares_addr_port_node, decltype(&ares_free_data)> list(servers, &ares_free_data);
  std::vector<Endpoint> resolvers;
  for (auto* node = servers; node != nullptr; node = node->next) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(node->family, &node->addr, text, sizeof text);
    const int port = node->udp_port == 0 ? 53 : node->udp_port;
    const std::string literal = node->family == AF_INET6 ? fmt::format("[{}]:{}", text, port)
                                                         : fmt::format("{}:{}", text, port);
    if (auto endpoint = parse_endpoint(literal, 53)) {
      resolvers.push_back(*endpoint);
    }
  }
  return resolvers;
}

}  // namespace vantage
