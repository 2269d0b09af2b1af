#pragma once

#include <cstddef>
#include <string>

#include "api_rate_limit.hh"
#include "http_server.hh"
#include "storage.hh"

namespace vantage {

struct ApiOptions {
  size_t max_body_bytes = size_t{8} << 20;  // also the bound on an inflated gzip body
  double requests_per_second = 50;          // per token; the burst is twice this
};

// The collector's HTTP API, version 1:
//   GET    /healthz                     no token
//   POST   /api/v1/results              agent token: a batch of cycle results
//   POST   /api/v1/heartbeat            agent token
//   GET    /api/v1/targets              agent or operator token; ETag / If-None-Match
//   POST   /api/v1/targets              operator token: add or replace one target
//   DELETE /api/v1/targets/DOMAIN       operator token
//   GET    /api/v1/agents               operator token
// Every error is {"error": "..."} with its status, and is logged on one line: status, method,
// path, peer, who (when known) and why. Never the token.
class Api : public RequestHandler {
 public:
  Api(Storage& storage, ApiOptions options);

  std::optional<HttpResponse> begin(HttpRequest& request) override;
  HttpResponse complete(HttpRequest& request) override;
  HttpResponse reject(const HttpRequest& request, int status, const std::string& reason) override;

 private:
  // The error response, with `reason` in the log and `public_reason` in the body (they differ
  // for 500s, whose details are for the operator, not the client).
  HttpResponse fail(const HttpRequest& request, int status, const std::string& public_reason,
                    const std::string& reason);
  HttpResponse post_results(HttpRequest& request);
  HttpResponse post_heartbeat(HttpRequest& request);
  HttpResponse get_targets(HttpRequest& request);
  HttpResponse post_target(HttpRequest& request);
  HttpResponse delete_target(HttpRequest& request);
  HttpResponse get_agents(HttpRequest& request);

  Storage& storage_;
  ApiOptions options_;
  RateLimiter limiter_;
};

}  // namespace vantage
