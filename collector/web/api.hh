#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "alerts.hh"
#include "api_rate_limit.hh"
#include "batch_log.hh"
#include "http_server.hh"
#include "monitor.hh"
#include "public_status.hh"
#include "read_model.hh"
#include "storage.hh"
#include "storage_retention.hh"
#include "ui_pages.hh"
#include "uptime_cache.hh"

namespace vantage {

struct ApiOptions {
  size_t max_body_bytes = size_t{8} << 20;  // also the bound on an inflated gzip body
  double requests_per_second = 50;          // per token; the burst is twice this
  // A cycle that starts (or ends) further ahead of the collector's clock is refused (422).
  std::chrono::milliseconds max_clock_skew{std::chrono::minutes(5)};
  StatusPageConfig status_page;  // no domains: /status and its parts are 404
  bool tls = false;              // served over HTTPS: the UI's cookies are Secure
  std::string metrics_token;     // non-empty: /metrics answers only a request bearing it
};

// The collector's HTTP API, version 1:
//   GET    /healthz                     no token
//   GET    /metrics                     no token, or collector.yaml's metrics token: Prometheus
//   text POST   /api/v1/results              agent token: a batch of cycle results POST
//   /api/v1/heartbeat            agent token GET    /api/v1/targets              agent or operator
//   token; ETag / If-None-Match POST   /api/v1/targets              operator token: add or replace
//   one target DELETE /api/v1/targets/DOMAIN       operator token GET    /api/v1/agents operator
//   token GET    /api/v1/status               operator token: every domain's verdict GET
//   /api/v1/domains/DOMAIN       operator token: explain (verdict, vantages, evidence) GET
//   /api/v1/domains/DOMAIN/history?since=1h|RFC3339&limit=N   operator token GET    /api/v1/alerts
//   operator token: alerts and their delivery GET    /status                      no token: the
//   public status page (HTML), if configured GET    /status/summary.json         no token: the same
//   in Statuspage's summary.json shape GET    /status/badges/DOMAIN/status.svg, .../uptime-24h.svg
//   (7d, 30d, 90d)   no token GET    /ui/, /ui/domains/DOMAIN, /ui/agents, /ui/alerts   the
//   operator UI: a session cookie GET    /ui/login, POST /ui/login, POST /ui/logout        from a
//   login with an operator token
// Every error is {"error": "..."} with its status, and is logged on one line: status, method,
// path, peer, who (when known) and why. Never the token.
class Api : public RequestHandler {
 public:
  // `alerts` may be null: no alert receivers; `retention` null: no pruning (tests).
  Api(Storage& storage, ApiOptions options, Monitor& monitor, AlertDispatcher* alerts = nullptr,
      const StorageRetention* retention = nullptr);

  std::optional<HttpResponse> begin(HttpRequest& request) override;
  HttpResponse complete(HttpRequest& request) override;
  HttpResponse reject(const HttpRequest& request, int status, const std::string& reason) override;

 private:
  // The error response, with `reason` in the log and `public_reason` in the body (they differ
  // for 500s, whose details are for the operator, not the client).
  // `log` false: counted, not logged.
  HttpResponse fail(const HttpRequest& request, int status, const std::string& public_reason,
                    const std::string& reason, bool log = true);
  HttpResponse post_results(HttpRequest& request);
  HttpResponse post_heartbeat(HttpRequest& request);
  HttpResponse get_targets(HttpRequest& request);
  // The domains with cycles but no central target, and who reported them.
  std::vector<AgentFileTarget> agent_file_targets(const std::vector<Target>& central);
  HttpResponse post_target(HttpRequest& request);
  HttpResponse delete_target(HttpRequest& request);
  HttpResponse get_agents(HttpRequest& request);
  HttpResponse get_status(HttpRequest& request);
  HttpResponse get_explanation(HttpRequest& request);
  HttpResponse get_history(HttpRequest& request);
  HttpResponse get_alerts(HttpRequest& request);
  HttpResponse get_metrics(HttpRequest& request);
  HttpResponse get_status_page(HttpRequest& request);
  HttpResponse get_status_summary(HttpRequest& request);
  HttpResponse get_status_badge(HttpRequest& request);
  PublicStatusSource& public_status();

  Storage& storage_;
  ApiOptions options_;
  RateLimiter limiter_;
  Monitor& monitor_;
  AlertDispatcher* alerts_;
  const StorageRetention* retention_;
  NewestEpochs newest_epochs_{storage_};
  UptimeCache uptime_{storage_, std::chrono::seconds(30)};
  ReadModel read_{storage_, monitor_, alerts_, uptime_};
  TokenVerifier tokens_{storage_};
  OperatorUi ui_{read_, tokens_, options_.tls};
  std::unique_ptr<PublicStatusSource> status_page_;  // null: no status page configured

  std::atomic<uint64_t> batches_stored_{0};
  std::atomic<uint64_t> results_stored_{0};
  std::atomic<uint64_t> results_duplicate_{0};
  std::atomic<uint64_t> results_expired_{0};
  std::atomic<uint64_t> results_conflict_{0};
  mutable std::mutex errors_mutex_;
  std::map<int, uint64_t> errors_by_status_;  // guarded by errors_mutex_
  // Five lines a minute per address (or token) and status: enough for an operator's typos.
  LogThrottle error_log_{std::chrono::minutes(1), 5};
  std::atomic<uint64_t> error_lines_held_back_{0};
};

}  // namespace vantage
