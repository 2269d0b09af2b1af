#include "http_server.hh"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "api_rate_limit.hh"
#include "printable.hh"

namespace vantage {

// TLS 1.2 and 1.3 only; in TLS 1.2 key exchange only by ECDHE (forward secrecy: no static RSA;
// DHE would need DH parameters this server does not set), and in TLS 1.3 every exchange is
// ephemeral; ciphers only AEAD (AES-GCM, ChaCha20-Poly1305), so no CBC and no separate MAC.
const char* const kTlsPriorities =
    "SECURE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
    "-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD";

namespace {

using Clock = std::chrono::steady_clock;

// How often the watchdog looks for connections past their header deadline.
constexpr auto kWatchdogTick = std::chrono::milliseconds(200);

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string peer_address(MHD_Connection* connection) {
  const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) {
    return "?";
  }
  char text[INET6_ADDRSTRLEN] = {};
  const sockaddr* addr = info->client_addr;
  if (addr->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
  } else if (addr->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(addr);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof(text));
    } else {
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    }
  } else {
    return "?";
  }
  return text;
}

// One request in progress: the connection's con_cls from the first call of the access handler
// to the completion notice.
struct Exchange {
  HttpRequest request;
  bool overflow = false;  // the body passed the bound: the rest is discarded, the answer is 413
  size_t discarded = 0;
};

using ResponsePtr = std::unique_ptr<MHD_Response, decltype(&MHD_destroy_response)>;

}  // namespace

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  const std::string key = lower(name);
  for (const auto& [header_name, value] : headers) {
    if (header_name == key) {
      return value;
    }
  }
  return std::nullopt;
}

std::optional<std::string> HttpRequest::query_value(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

struct HttpServer::Impl {
  Impl(HttpServerOptions options_in, RequestHandler& handler_in)
      : options(std::move(options_in)), handler(handler_in) {}

  HttpServerOptions options;
  RequestHandler& handler;
  std::unique_ptr<MHD_Daemon, decltype(&MHD_stop_daemon)> daemon{nullptr, &MHD_stop_daemon};
  uint16_t port = 0;

  std::mutex mutex;
  std::condition_variable idle;
  int active = 0;  // requests between their first call and their completion notice

  // Every open connection, from MHD_CONNECTION_NOTIFY_STARTED to MHD_CONNECTION_NOTIFY_CLOSED
  // (which libmicrohttpd sends before it closes the socket, so the descriptor here is never a
  // reused one), with the time its request's headers are due.
  struct Watch {
    MHD_socket fd = MHD_INVALID_SOCKET;
    std::string peer;
    Clock::time_point headers_due;
    bool awaiting_headers = true;
    bool shut = false;
  };
  std::mutex watch_mutex;
  std::condition_variable watch_wake;
  bool watch_stopping = false;
  std::unordered_map<MHD_Connection*, Watch> watched;  // guarded by watch_mutex
  std::thread watchdog;
  LogThrottle overdue_log{std::chrono::minutes(1), 1, 1};

  void start();
  void watch(MHD_Connection* connection, MHD_ConnectionNotificationCode code);
  void headers_arrived(MHD_Connection* connection, bool arrived);
  void close_overdue();
  void stop_watchdog();
  MHD_Result access(MHD_Connection* connection, const char* url, const char* method,
                    const char* upload_data, size_t* upload_data_size, void** con_cls);
  MHD_Result first_call(MHD_Connection* connection, const char* url, const char* method,
                        void** con_cls);
  void completed(void** con_cls);
  static MHD_Result send(MHD_Connection* connection, const HttpResponse& response);

  // MHD_AccessHandlerCallback
  static MHD_Result on_access(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char* /*version*/, const char* upload_data,
                              size_t* upload_data_size, void** con_cls) {
    return static_cast<Impl*>(cls)->access(connection, url, method, upload_data, upload_data_size,
                                           con_cls);
  }
  // MHD_OPTION_NOTIFY_COMPLETED
  static void on_completed(void* cls, MHD_Connection* connection, void** con_cls,
                           MHD_RequestTerminationCode /*toe*/) {
    auto* impl = static_cast<Impl*>(cls);
    impl->completed(con_cls);
    // A kept-alive connection owes the next request's headers within the same deadline.
    impl->headers_arrived(connection, false);
  }
  // MHD_OPTION_NOTIFY_CONNECTION
  static void on_connection(void* cls, MHD_Connection* connection, void** /*socket_context*/,
                            MHD_ConnectionNotificationCode code) {
    static_cast<Impl*>(cls)->watch(connection, code);
  }
  HttpResponse safe_reject(const HttpRequest& request, int status, const std::string& reason);
};

namespace {

// MHD_OPTION_EXTERNAL_LOGGER: libmicrohttpd's own complaints (bad TLS handshakes, malformed
// requests it answers itself) go to the same log as ours, one warning a minute at most: a TCP
// health check or a port scan of the TLS port makes one per connection, and would bury
// everything else. The rest go to debug and are counted in the next warning. Its messages may
// quote what a client sent (a malformed request line), so they are escaped.
void on_mhd_log(void* /*cls*/, const char* format, va_list args) {
  char text[512];
  std::vsnprintf(text, sizeof(text), format, args);
  std::string_view line(text);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  static LogThrottle throttle(std::chrono::minutes(1), 1, 1);
  const auto quieted = throttle.admit("");
  if (!quieted) {
    spdlog::debug("libmicrohttpd: {}", printable(line));
  } else if (*quieted > 0) {
    spdlog::warn("libmicrohttpd: {} ({} more such messages in the last minute, at debug level)",
                 printable(line), *quieted);
  } else {
    spdlog::warn("libmicrohttpd: {}", printable(line));
  }
}

// MHD_KeyValueIterator
MHD_Result collect_argument(void* cls, MHD_ValueKind /*kind*/, const char* key, const char* value) {
  auto* arguments = static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
  arguments->emplace_back(key, value != nullptr ? value : "");
  return MHD_YES;
}

MHD_Result collect_header(void* cls, MHD_ValueKind /*kind*/, const char* key, const char* value) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
  headers->emplace_back(lower(key), value != nullptr ? value : "");
  return MHD_YES;
}

}  // namespace

void HttpServer::Impl::start() {
  unsigned threads = options.threads;
  if (threads == 0) {
    // More workers than cores: an upload's worker waits for its commit (an fsync with SQLite),
    // and while it waits the others parse and join the next group commit. With one per core
    // ingest ran at 0.54 of a raw insert on two cores with half the CPU idle; with four, 0.74.
    threads = std::clamp(4 * std::thread::hardware_concurrency(), 4U, 16U);
  }
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  if (options.listen.family() == AF_INET6) {
    flags |= MHD_USE_IPv6;
  }
  const bool tls = options.tls;
  if (tls) {
    if (options.tls_cert_pem.empty() || options.tls_key_pem.empty()) {
      throw std::runtime_error("TLS needs both a certificate and a key");
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      throw std::runtime_error("this libmicrohttpd was built without TLS support");
    }
    flags |= MHD_USE_TLS;
  }
  std::vector<MHD_OptionItem> items = {
      // First, or libmicrohttpd warns that earlier options may have logged elsewhere.
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&on_mhd_log), nullptr},
      {MHD_OPTION_SOCK_ADDR, 0, &options.listen.addr},
      {MHD_OPTION_THREAD_POOL_SIZE, static_cast<intptr_t>(threads), nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(options.connection_limit), nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, static_cast<intptr_t>(options.connection_limit_per_ip),
       nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(options.connection_timeout.count()),
       nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(options.connection_memory_limit),
       nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&on_completed), this},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&on_connection), this},
  };
  if (tls) {
    items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, options.tls_cert_pem.data()});
    items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, options.tls_key_pem.data()});
    items.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(kTlsPriorities)});
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});
  // libmicrohttpd 0.9.75 has no deadline for a request's headers, only the idle timeout, which
  // a client sending a byte now and then never reaches: this thread closes such connections.
  watchdog = std::thread([this] { close_overdue(); });
  daemon.reset(MHD_start_daemon(flags, options.listen.port(), nullptr, nullptr, &on_access, this,
                                MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END));
  if (!daemon) {
    stop_watchdog();
    throw std::runtime_error("cannot listen on " + options.listen.to_string() +
                             " (address in use, not local, or a bad TLS certificate or key)");
  }
  const auto* info = MHD_get_daemon_info(daemon.get(), MHD_DAEMON_INFO_BIND_PORT);
  port = info != nullptr ? info->port : options.listen.port();
}

MHD_Result HttpServer::Impl::access(MHD_Connection* connection, const char* url, const char* method,
                                    const char* upload_data, size_t* upload_data_size,
                                    void** con_cls) {
  if (*con_cls == nullptr) {
    return first_call(connection, url, method, con_cls);
  }
  auto& exchange = *static_cast<Exchange*>(*con_cls);
  if (*upload_data_size != 0) {
    const size_t size = *upload_data_size;
    *upload_data_size = 0;
    if (!exchange.overflow && exchange.request.body.size() + size <= options.max_body_bytes) {
      exchange.request.body.append(upload_data, size);
      return MHD_YES;
    }
    // libmicrohttpd cannot answer in the middle of an upload; so stop keeping it, read the rest
    // into nothing and answer 413 at its end. A body that goes on past twice the bound is not
    // an agent's mistake: drop the connection rather than read forever.
    if (!exchange.overflow) {
      exchange.overflow = true;
      exchange.request.body.clear();
      exchange.request.body.shrink_to_fit();
    }
    exchange.discarded += size;
    if (exchange.discarded > options.max_body_bytes) {
      // No response can go out now; the handler still logs it as its own rejection.
      safe_reject(exchange.request, 413,
                  "body without a length went on past " +
                      std::to_string(2 * options.max_body_bytes) + " bytes; connection dropped");
      return MHD_NO;
    }
    return MHD_YES;
  }
  HttpResponse response;
  if (exchange.overflow) {
    response =
        safe_reject(exchange.request, 413,
                    "body is larger than " + std::to_string(options.max_body_bytes) + " bytes");
  } else {
    try {
      response = handler.complete(exchange.request);
    } catch (const std::exception& error) {
      response = safe_reject(exchange.request, 500, error.what());
    }
  }
  return send(connection, response);
}

void HttpServer::Impl::watch(MHD_Connection* connection, MHD_ConnectionNotificationCode code) {
  std::lock_guard lock(watch_mutex);
  if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    watched.erase(connection);
    return;
  }
  const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (info == nullptr) {
    return;
  }
  Watch& entry = watched[connection];
  entry.fd = info->connect_fd;
  entry.peer = peer_address(connection);
  entry.headers_due = Clock::now() + options.header_timeout;
}

void HttpServer::Impl::headers_arrived(MHD_Connection* connection, bool arrived) {
  std::lock_guard lock(watch_mutex);
  const auto found = watched.find(connection);
  if (found == watched.end()) {
    return;
  }
  found->second.awaiting_headers = !arrived;
  found->second.headers_due = Clock::now() + options.header_timeout;
}

void HttpServer::Impl::close_overdue() {
  std::unique_lock lock(watch_mutex);
  while (!watch_stopping) {
    watch_wake.wait_for(lock, kWatchdogTick);
    const auto now = Clock::now();
    for (auto& [connection, entry] : watched) {
      if (!entry.awaiting_headers || entry.shut || now < entry.headers_due) {
        continue;
      }
      // Its worker thread sees end of file on the socket and closes the connection the usual
      // way (MHD_CONNECTION_NOTIFY_CLOSED follows); closing the descriptor here would race it.
      shutdown(entry.fd, SHUT_RDWR);
      entry.shut = true;
      if (const auto held_back = overdue_log.admit("")) {
        spdlog::warn(
            "closed a connection from {} that sent no complete request headers within {} s{}",
            entry.peer, options.header_timeout.count(),
            *held_back > 0
                ? fmt::format(" ({} more such connections since the last such line)", *held_back)
                : "");
      }
    }
  }
}

void HttpServer::Impl::stop_watchdog() {
  {
    std::lock_guard lock(watch_mutex);
    watch_stopping = true;
  }
  watch_wake.notify_all();
  if (watchdog.joinable()) {
    watchdog.join();
  }
}

MHD_Result HttpServer::Impl::first_call(MHD_Connection* connection, const char* url,
                                        const char* method, void** con_cls) {
  headers_arrived(connection, true);
  auto exchange = std::make_unique<Exchange>();
  auto& request = exchange->request;
  request.method = method;
  request.path = url;
  request.peer = peer_address(connection);
  MHD_get_connection_values(connection, MHD_HEADER_KIND, &collect_header, &request.headers);
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &collect_argument, &request.query);
  {
    std::lock_guard lock(mutex);
    ++active;
  }
  *con_cls = exchange.release();

  std::optional<HttpResponse> early;
  try {
    early = handler.begin(request);
    if (!early) {
      // The declared length decides before a byte of the body is read (and before curl's
      // "Expect: 100-continue" is answered), so an oversized upload costs nothing.
      if (auto length = request.header("content-length")) {
        uint64_t declared = 0;
        const auto [end, error] =
            std::from_chars(length->data(), length->data() + length->size(), declared);
        if (error == std::errc() && declared > options.max_body_bytes) {
          early = handler.reject(request, 413,
                                 "body of " + *length + " bytes is larger than " +
                                     std::to_string(options.max_body_bytes) + " bytes");
        } else if (error == std::errc()) {
          request.body.reserve(declared);  // bounded just above
        }
      }
    }
  } catch (const std::exception& error) {
    early = safe_reject(request, 500, error.what());
  }
  if (early) {
    // Queued now, libmicrohttpd never reads the body and closes the connection after replying.
    return send(connection, *early);
  }
  return MHD_YES;
}

void HttpServer::Impl::completed(void** con_cls) {
  std::unique_ptr<Exchange> exchange(static_cast<Exchange*>(*con_cls));
  *con_cls = nullptr;
  if (!exchange) {
    return;
  }
  exchange.reset();
  std::lock_guard lock(mutex);
  if (--active == 0) {
    idle.notify_all();
  }
}

HttpResponse HttpServer::Impl::safe_reject(const HttpRequest& request, int status,
                                           const std::string& reason) {
  try {
    return handler.reject(request, status, reason);
  } catch (const std::exception&) {
    return HttpResponse{status, R"({"error":"internal error"})", "application/json", {}};
  }
}

MHD_Result HttpServer::Impl::send(MHD_Connection* connection, const HttpResponse& response) {
  ResponsePtr reply(
      MHD_create_response_from_buffer(response.body.size(),
                                      const_cast<char*>(response.body.data()),  // copied
                                      MHD_RESPMEM_MUST_COPY),
      &MHD_destroy_response);
  if (!reply) {
    return MHD_NO;
  }
  if (!response.body.empty()) {
    MHD_add_response_header(reply.get(), MHD_HTTP_HEADER_CONTENT_TYPE,
                            response.content_type.c_str());
  }
  for (const auto& [name, value] : response.headers) {
    MHD_add_response_header(reply.get(), name.c_str(), value.c_str());
  }
  return MHD_queue_response(connection, static_cast<unsigned>(response.status), reply.get());
}

HttpServer::HttpServer(HttpServerOptions options, RequestHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {
  impl_->start();
}

HttpServer::~HttpServer() {
  stop();
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  if (!impl_->daemon) {
    return;
  }
  // Quiescing closes the door to new connections while the open ones carry on.
  const MHD_socket listener = MHD_quiesce_daemon(impl_->daemon.get());
  {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->idle.wait_for(lock, grace, [&] { return impl_->active == 0; })) {
      spdlog::warn("stopping with {} request{} still in progress", impl_->active,
                   impl_->active == 1 ? "" : "s");
    }
  }
  impl_->daemon.reset();
  impl_->stop_watchdog();
  // Ours to close after a quiesce, and only once the daemon's threads are gone.
  if (listener != MHD_INVALID_SOCKET) {
    close(listener);
  }
}

}  // namespace vantage
