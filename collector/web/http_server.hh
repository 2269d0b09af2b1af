#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "endpoint.hh"

namespace vantage {

// The GnuTLS priority string of the HTTPS server.
extern const char* const kTlsPriorities;

struct HttpRequest {
  std::string method;
  std::string path;  // percent-decoded by libmicrohttpd, without the query string
  std::string peer;  // the client's IP address
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::vector<std::pair<std::string, std::string>> query;    // the URL's arguments, decoded
  std::string body;  // the raw upload, at most HttpServerOptions::max_body_bytes
  // Set by RequestHandler::begin for RequestHandler::complete (who authenticated, which route),
  // so that nothing is worked out twice.
  std::any context;

  // The value of the first header called `name` (any case), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  // The value of the first query argument called `name` (exact case), or nullopt.
  std::optional<std::string> query_value(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;  // empty: no body
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// What the server calls for every request, from its worker threads (so concurrently).
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Called once the headers are in and before any of the body is read. A response ends the
  // request here and the body is never read, which is how an unauthenticated or unwanted upload
  // is turned away without costing its transfer.
  virtual std::optional<HttpResponse> begin(HttpRequest& request) = 0;
  // Called with the whole body.
  virtual HttpResponse complete(HttpRequest& request) = 0;
  // An error response the server itself decided on (413, or 500 when a handler threw); the
  // handler words and logs it like its own.
  virtual HttpResponse reject(const HttpRequest& request, int status,
                              const std::string& reason) = 0;
};

struct HttpServerOptions {
  Endpoint listen;
  // HTTPS with this PEM certificate (chain) and key, which must then both be given: the server
  // refuses to start rather than fall back to plain HTTP.
  bool tls = false;
  std::string tls_cert_pem;
  std::string tls_key_pem;
  size_t max_body_bytes = size_t{8} << 20;
  unsigned threads = 0;                         // 0 = 4 per core, 4 to 16
  std::chrono::seconds connection_timeout{30};  // idle: nothing sent or received for this long
  // From a connection's start (or its previous request's end) to its request's complete headers,
  // however slowly it keeps sending: a client trickling one header line at a time is closed.
  std::chrono::seconds header_timeout{10};
  size_t connection_memory_limit = size_t{64} << 10;  // per connection: headers and read buffer
  unsigned connection_limit = 1024;
  unsigned connection_limit_per_ip = 64;
};

// An HTTP/1.1 server on libmicrohttpd with its own thread pool. It collects each request's body
// (never more than max_body_bytes of it: past that, the rest is discarded and the handler's 413
// goes out) and hands complete requests to the handler. HTTPS allows TLS 1.2 and 1.3 only, with
// forward-secret key exchange (ECDHE) and AEAD ciphers (kTlsPriorities).
class HttpServer {
 public:
  // Binds and starts serving; throws std::runtime_error if it cannot.
  HttpServer(HttpServerOptions options, RequestHandler& handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the kernel's choice when the options asked for port 0).
  uint16_t port() const;
  // Stops accepting connections, lets the requests already being handled finish (for at most
  // `grace`), then closes every connection. Safe to call twice; the destructor calls it.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vantage
