#include "api.hh"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "api_input.hh"
#include "batch_log.hh"
#include "duration.hh"
#include "metrics.hh"
#include "mute_api.hh"
#include "printable.hh"
#include "result_json.hh"
#include "status_render.hh"
#include "tokens.hh"

namespace vantage {
namespace {

using nlohmann::json;

enum class Route : uint8_t {
  Health,
  Metrics,
  Results,
  Heartbeat,
  ListTargets,
  AddTarget,
  RemoveTarget,
  Agents,
  Status,
  Explain,
  History,
  Alerts,
  ListWindows,
  AddWindow,
  RemoveWindow,
  ListSilences,
  AddSilence,
  ExpireSilence,
  StatusPage,
  StatusSummary,
  StatusBadge,
  Ui,  // the operator UI: its own sessions (ui_pages.hh)
};
enum class Access : uint8_t { Anyone, Agent, AgentOrOperator, Operator };

struct RouteEntry {
  std::string_view path;  // a "*" segment matches any one segment: an argument of the route
  std::string_view method;
  Route route;
  Access access;
  UiRoute ui = UiRoute::Root;  // which page, for Route::Ui
};

// /metrics is open like /healthz unless collector.yaml gives it a token (metrics.token_file), as
// Prometheus scrapes it; it holds domain names and verdicts, so without a token listen on an
// address only trusted networks reach (docs/alerts.md, "Metrics"). The status page is open too:
// it shows only what collector.yaml's status_page chose to publish.
constexpr std::array<RouteEntry, 30> kRoutes = {{
    {"/healthz", "GET", Route::Health, Access::Anyone},
    {"/metrics", "GET", Route::Metrics, Access::Anyone},
    {"/api/v1/results", "POST", Route::Results, Access::Agent},
    {"/api/v1/heartbeat", "POST", Route::Heartbeat, Access::Agent},
    {"/api/v1/targets", "GET", Route::ListTargets, Access::AgentOrOperator},
    {"/api/v1/targets", "POST", Route::AddTarget, Access::Operator},
    {"/api/v1/targets/*", "DELETE", Route::RemoveTarget, Access::Operator},
    {"/api/v1/agents", "GET", Route::Agents, Access::Operator},
    {"/api/v1/status", "GET", Route::Status, Access::Operator},
    {"/api/v1/domains/*", "GET", Route::Explain, Access::Operator},
    {"/api/v1/domains/*/history", "GET", Route::History, Access::Operator},
    {"/api/v1/alerts", "GET", Route::Alerts, Access::Operator},
    {"/api/v1/maintenance", "GET", Route::ListWindows, Access::Operator},
    {"/api/v1/maintenance", "POST", Route::AddWindow, Access::Operator},
    {"/api/v1/maintenance/*", "DELETE", Route::RemoveWindow, Access::Operator},
    {"/api/v1/silences", "GET", Route::ListSilences, Access::Operator},
    {"/api/v1/silences", "POST", Route::AddSilence, Access::Operator},
    {"/api/v1/silences/*", "DELETE", Route::ExpireSilence, Access::Operator},
    {"/status", "GET", Route::StatusPage, Access::Anyone},
    {"/status/summary.json", "GET", Route::StatusSummary, Access::Anyone},
    {"/status/badges/*/*", "GET", Route::StatusBadge, Access::Anyone},
    {"/ui", "GET", Route::Ui, Access::Anyone, UiRoute::Root},
    {"/ui/", "GET", Route::Ui, Access::Anyone, UiRoute::Overview},
    {"/ui/login", "GET", Route::Ui, Access::Anyone, UiRoute::LoginForm},
    {"/ui/login", "POST", Route::Ui, Access::Anyone, UiRoute::Login},
    {"/ui/logout", "POST", Route::Ui, Access::Anyone, UiRoute::Logout},
    {"/ui/domains/*", "GET", Route::Ui, Access::Anyone, UiRoute::Domain},
    {"/ui/agents", "GET", Route::Ui, Access::Anyone, UiRoute::Agents},
    {"/ui/alerts", "GET", Route::Ui, Access::Anyone, UiRoute::Alerts},
}};

// Does `path` match `pattern`? Fills `arguments` with the segments its "*"s matched.
bool match_route(std::string_view pattern, std::string_view path,
                 std::vector<std::string>& arguments) {
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') {
      return false;
    }
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pattern_end = std::min(pattern.find('/'), pattern.size());
    const auto path_end = std::min(path.find('/'), path.size());
    const auto pattern_segment = pattern.substr(0, pattern_end);
    const auto path_segment = path.substr(0, path_end);
    if (pattern_segment == "*") {
      if (path_segment.empty()) {
        return false;
      }
      arguments.emplace_back(path_segment);
    } else if (pattern_segment != path_segment) {
      return false;
    }
    pattern.remove_prefix(pattern_end);
    path.remove_prefix(path_end);
  }
  return true;
}

// What begin() learnt about a request, kept in HttpRequest::context for complete() and for the
// log line of any rejection.
struct Caller {
  const RouteEntry* route = nullptr;
  std::optional<TokenRecord> token;
  // What the route's "*"s matched: the DOMAIN of /api/v1/targets/DOMAIN and
  // /api/v1/domains/DOMAIN; DOMAIN and BADGE of /status/badges/DOMAIN/BADGE.
  std::vector<std::string> arguments;
};

const Caller* caller_of(const HttpRequest& request) {
  return std::any_cast<Caller>(&request.context);
}

std::string lower_trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.remove_suffix(1);
  }
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The token of "Authorization: Bearer TOKEN" (the scheme in any case), or "" if there is none.
std::string bearer_token(const HttpRequest& request) {
  const auto header = request.header("authorization");
  if (!header) {
    return "";
  }
  const std::string value = lower_trimmed(*header);
  constexpr std::string_view kScheme = "bearer ";
  if (value.rfind(kScheme, 0) != 0) {
    return "";
  }
  // Tokens are case-sensitive in general, so take it from the header, not the lower-cased copy.
  std::string_view token = *header;
  token.remove_prefix(token.find_first_not_of(" \t"));
  token.remove_prefix(kScheme.size());
  const auto first = token.find_first_not_of(" \t");
  const auto last = token.find_last_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return "";
  }
  return std::string(token.substr(first, last - first + 1));
}

bool gzipped(const HttpRequest& request) {
  const auto encoding = request.header("content-encoding");
  return encoding && (lower_trimmed(*encoding) == "gzip" || lower_trimmed(*encoding) == "x-gzip");
}

HttpResponse json_response(int status, const json& body) {
  // Text from the request (a path decoded from %ff) need not be UTF-8; dump() would throw on it.
  return HttpResponse{
      status, body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json", {}};
}

std::optional<size_t> parse_count(std::string_view text) {
  size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// Does an If-None-Match header (a list of entity tags, or *) name `etag`?
bool etag_matches(const std::string& header, const std::string& etag) {
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string::npos) {
      end = header.size();
    }
    std::string tag = lower_trimmed(std::string_view(header).substr(start, end - start));
    if (tag.rfind("w/", 0) == 0) {
      tag.erase(0, 2);  // a weak comparison is what If-None-Match asks for
    }
    if (tag == "*" || tag == etag) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// The maintenance windows' and silences' routes (mute_api.hh).
HttpResponse mute_request(AlertDispatcher* alerts, const HttpRequest& request,
                          const Caller& caller) {
  if (alerts == nullptr) {
    throw ApiError(404, "this collector sends no alerts, so it keeps no windows or silences");
  }
  MuteApi mutes(*alerts);
  const std::string& name = caller.token->name;
  const auto reply = [&]() -> MuteReply {
    switch (caller.route->route) {
      case Route::ListWindows:
        return mutes.list_windows();
      case Route::AddWindow:
        return mutes.add_window(request.body, name);
      case Route::RemoveWindow:
        return mutes.remove_window(caller.arguments.at(0), name);
      case Route::ListSilences:
        return mutes.list_silences();
      case Route::AddSilence:
        return mutes.add_silence(request.body, name);
      default:
        return mutes.expire_silence(caller.arguments.at(0), name);
    }
  }();
  return json_response(reply.status, reply.body);
}

}  // namespace

Api::Api(Storage& storage, ApiOptions options, Monitor& monitor, AlertDispatcher* alerts,
         const StorageRetention* retention)
    : storage_(storage),
      options_(std::move(options)),
      limiter_(options_.requests_per_second, 2 * options_.requests_per_second),
      monitor_(monitor),
      alerts_(alerts),
      retention_(retention) {
  if (options_.status_page.enabled()) {
    // The day bars change once a day at most; a minute old is fresh enough for a public page.
    status_page_ = std::make_unique<PublicStatusSource>(options_.status_page, storage_, monitor_,
                                                        uptime_, std::chrono::minutes(1));
  }
}

std::optional<HttpResponse> Api::begin(HttpRequest& request) {
  Caller caller;
  std::string allow;
  for (const auto& entry : kRoutes) {
    std::vector<std::string> arguments;
    if (!match_route(entry.path, request.path, arguments)) {
      continue;
    }
    caller.arguments = std::move(arguments);
    if (entry.method == request.method) {
      caller.route = &entry;
      break;
    }
    allow += allow.empty() ? std::string(entry.method) : ", " + std::string(entry.method);
  }
  if (caller.route == nullptr) {
    if (allow.empty()) {
      return reject(request, 404, "no such endpoint");
    }
    auto response = reject(request, 405, fmt::format("{} is not allowed here", request.method));
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  request.context = caller;
  if (caller.route->route == Route::Metrics && !options_.metrics_token.empty()) {
    const std::string presented = bearer_token(request);
    // Compared in constant time, like the API's tokens: the time must not tell a prefix.
    if (presented.size() != options_.metrics_token.size() ||
        CRYPTO_memcmp(presented.data(), options_.metrics_token.data(), presented.size()) != 0) {
      return reject(request, 401, "/metrics needs the bearer token of metrics.token_file");
    }
    return std::nullopt;
  }
  if (caller.route->access == Access::Anyone) {
    return std::nullopt;
  }

  const std::string token = bearer_token(request);
  if (token.empty()) {
    return reject(request, 401, "missing bearer token");
  }
  auto presented = tokens_.verify(token, std::chrono::system_clock::now());
  if (presented.ended) {
    // An agent whose token was revoked retries until it gets a new one: say so once, not at
    // every retry (vantage_http_errors_total counts them all).
    const TokenRecord& ended = *presented.ended;
    return fail(request, 401, "token revoked or expired",
                fmt::format("the {} token of {} ended at {}", to_string(ended.kind), ended.name,
                            format_time(*ended.expires_at)),
                presented.first_refusal);
  }
  caller.token = std::move(presented.accepted);
  if (!caller.token) {
    return reject(request, 401, "unknown token");
  }
  request.context = caller;
  const bool is_agent = caller.token->kind == TokenKind::Agent;
  if (caller.route->access == Access::Agent && !is_agent) {
    return reject(request, 403, "this endpoint is for agent tokens");
  }
  if (caller.route->access == Access::Operator && is_agent) {
    return reject(request, 403, "this endpoint needs an operator token");
  }
  if (!limiter_.allow(caller.token->hash)) {
    auto response = reject(request, 429,
                           fmt::format("more than {} requests per second with this token",
                                       options_.requests_per_second));
    response.headers.emplace_back("Retry-After", "1");
    return response;
  }
  if (const auto encoding = request.header("content-encoding")) {
    const std::string name = lower_trimmed(*encoding);
    if (!name.empty() && name != "identity" && name != "gzip" && name != "x-gzip") {
      return reject(request, 415,
                    fmt::format("unsupported Content-Encoding \"{}\" (gzip or none)", *encoding));
    }
  }
  return std::nullopt;
}

HttpResponse Api::complete(HttpRequest& request) {
  const Caller* caller = caller_of(request);
  if (caller == nullptr || caller->route == nullptr) {
    return fail(request, 500, "internal error", "request completed without a route");
  }
  try {
    if (gzipped(request)) {
      request.body = gunzip_bounded(request.body, options_.max_body_bytes);
    }
    switch (caller->route->route) {
      case Route::Health:
        return json_response(200, {{"ok", true}});
      case Route::Results:
        return post_results(request);
      case Route::Heartbeat:
        return post_heartbeat(request);
      case Route::ListTargets:
        return get_targets(request);
      case Route::AddTarget:
        return post_target(request);
      case Route::RemoveTarget:
        return delete_target(request);
      case Route::Agents:
        return get_agents(request);
      case Route::Status:
        return get_status(request);
      case Route::Explain:
        return get_explanation(request);
      case Route::History:
        return get_history(request);
      case Route::Alerts:
        return get_alerts(request);
      case Route::ListWindows:
      case Route::AddWindow:
      case Route::RemoveWindow:
      case Route::ListSilences:
      case Route::AddSilence:
      case Route::ExpireSilence:
        return mute_request(alerts_, request, *caller);
      case Route::Metrics:
        return get_metrics(request);
      case Route::StatusPage:
        return get_status_page(request);
      case Route::StatusSummary:
        return get_status_summary(request);
      case Route::StatusBadge:
        return get_status_badge(request);
      case Route::Ui:
        return ui_.handle(request, caller->route->ui, caller->arguments);
    }
  } catch (const ApiError& error) {
    return reject(request, error.status(), error.what());
  } catch (const StorageError& error) {
    return fail(request, 500, "storage failure; nothing was changed",
                fmt::format("storage failure: {}", error.what()));
  } catch (const std::exception& error) {
    return fail(request, 500, "internal error", error.what());
  }
  return fail(request, 500, "internal error", "unhandled route");
}

HttpResponse Api::reject(const HttpRequest& request, int status, const std::string& reason) {
  return fail(request, status, status >= 500 ? "internal error" : reason, reason);
}

HttpResponse Api::fail(const HttpRequest& request, int status, const std::string& public_reason,
                       const std::string& reason, bool log) {
  const Caller* caller = caller_of(request);
  const bool known = caller != nullptr && caller->token;
  std::string who;
  if (known) {
    who = fmt::format(" {} {}", to_string(caller->token->kind), caller->token->name);
  }
  {
    std::lock_guard lock(errors_mutex_);
    ++errors_by_status_[status];
  }
  auto response = json_response(status, {{"error", public_reason}});
  if (!log) {
    ++error_lines_held_back_;
    return response;
  }
  // Anyone can send requests without a token (or too many with one) as fast as the network
  // carries them; a few lines per address (or token) and status a minute are enough to see it,
  // and vantage_http_errors_total counts every one.
  std::string held_back_note;
  if (status < 500 && (!known || status == 429)) {
    const std::string source = known ? caller->token->name : request.peer;
    const auto held_back = error_log_.admit(fmt::format("{} {}", status, source));
    if (!held_back) {
      ++error_lines_held_back_;
      return response;
    }
    if (*held_back > 0) {
      held_back_note =
          fmt::format(" ({} more HTTP {} from {} were not logged in the minute before)", *held_back,
                      status, printable(source));
    }
  }
  // Everything but the status came from outside: escaped, so that it cannot forge log lines.
  const auto level = status >= 500 ? spdlog::level::err : spdlog::level::warn;
  spdlog::log(level, "HTTP {} {} {} from {}{}: {}{}", status, printable(request.method),
              printable(request.path), printable(request.peer), who, printable(reason),
              held_back_note);
  return response;
}

HttpResponse Api::post_results(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  const auto now = std::chrono::system_clock::now();
  auto batch = parse_result_batch(request.body, caller.token->name, now, options_.max_clock_skew);
  const size_t uploaded = batch.results.size();
  // Older than the results' retention: acknowledged, not stored (docs/storage.md).
  const std::vector<size_t> positions = drop_results_before(
      batch, retention_ != nullptr ? now - retention_->config().results : TimePoint::min());
  const size_t expired = uploaded - batch.results.size();
  const auto newest_epoch = newest_epochs_.of(caller.token->name);
  // One call, one transaction: the batch is stored whole or not at all, and only then is it
  // acknowledged, so an agent may drop from its spool exactly what a 200 names.
  const StoreOutcome outcome = storage_.store_results(batch.results);
  if (outcome.conflicts > 0) {
    results_conflict_ += outcome.conflicts;
    const auto conflict =
        std::find(outcome.fates.begin(), outcome.fates.end(), StoreFate::Conflict);
    const auto index = static_cast<size_t>(conflict - outcome.fates.begin());
    throw ApiError(
        409,
        fmt::format("results[{}]: seq {} is already stored with a different cycle document "
                    "(epoch {}; {} conflicting in this batch); nothing of this batch was stored. "
                    "One seq is one cycle: does another agent use this token, or was the "
                    "agent's state directory copied?",
                    positions[index], batch.results[index].seq, batch.epoch, outcome.conflicts));
  }
  if (outcome.inserted > 0) {
    newest_epochs_.stored(caller.token->name, batch.epoch);
  }
  ++batches_stored_;
  results_stored_ += outcome.inserted;
  results_duplicate_ += outcome.duplicates;
  results_expired_ += expired;
  // Only what was stored now counts: a duplicate was observed when it was first stored.
  std::vector<VantageCycle> stored;
  for (size_t i = 0; i < batch.cycles.size(); ++i) {
    if (outcome.fates[i] == StoreFate::Stored) {
      stored.push_back(batch.cycles[i]);
    }
  }
  monitor_.observe(caller.token->name, request.peer, stored);
  spdlog::debug("stored {} results from agent {} ({} duplicates, {} past retention)",
                outcome.inserted, caller.token->name, outcome.duplicates, expired);
  log_stored_batch(caller.token->name, batch, outcome, newest_epoch);
  return json_response(200, {{"accepted", outcome.inserted},
                             {"duplicates", outcome.duplicates},
                             {"expired", expired},
                             {"acked_seq", batch.max_seq}});
}

HttpResponse Api::post_heartbeat(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  const json body = parse_json_body(request.body);
  const AgentRecord agent =
      parse_heartbeat(body, caller.token->name, request.peer, std::chrono::system_clock::now());
  const auto interval = parse_heartbeat_interval(body);
  storage_.upsert_agent(agent);
  monitor_.heartbeat(agent, interval);
  return json_response(200, {{"ok", true}});
}

HttpResponse Api::get_targets(HttpRequest& request) {
  // One read for both, so the ETag always names the list it comes with.
  const TargetSet set = storage_.target_set();
  const std::string etag = fmt::format("\"{}\"", set.version);
  const bool operator_list = caller_of(request)->token->kind == TokenKind::Operator;
  // The operator's list also holds what agents report on their own, which changes without the
  // version: only the agents' list may be answered 304.
  if (const auto condition = request.header("if-none-match");
      !operator_list && condition && etag_matches(*condition, etag)) {
    return HttpResponse{304, "", "application/json", {{"ETag", etag}}};
  }
  TargetList list{.version = set.version, .targets = set.targets, .agent_file_targets = {}};
  if (operator_list) {
    list.agent_file_targets = agent_file_targets(set.targets);
  }
  auto response = json_response(200, to_json(list));
  if (!operator_list) {
    response.headers.emplace_back("ETag", etag);
  }
  return response;
}

std::vector<AgentFileTarget> Api::agent_file_targets(const std::vector<Target>& central) {
  std::set<std::string> central_domains;
  for (const auto& target : central) {
    central_domains.insert(target.domain);
  }
  std::vector<AgentFileTarget> found;
  for (const auto& explanation : monitor_.explanations()) {
    if (central_domains.count(explanation.state.domain) != 0 || explanation.vantages.empty()) {
      continue;
    }
    AgentFileTarget target{.domain = explanation.state.domain, .agents = {}};
    for (const auto& vantage : explanation.vantages) {
      target.agents.push_back(vantage.agent);
    }
    found.push_back(std::move(target));
  }
  return found;
}

HttpResponse Api::post_target(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  const Target target = parse_target(parse_json_body(request.body));
  const bool changed = storage_.put_target(target);
  const int64_t version = storage_.targets_version();
  spdlog::info("operator {} {} target {} (port {}, path {}); targets version {}",
               caller.token->name, changed ? "set" : "re-sent the unchanged",
               printable(target.domain), target.port, printable(target.path), version);
  return json_response(201, to_json(TargetsVersion{version}));
}

HttpResponse Api::delete_target(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  const std::string domain = normalize_domain(caller.arguments.at(0));
  if (!storage_.remove_target(domain)) {
    throw ApiError(404, fmt::format("no target \"{}\"", domain));
  }
  monitor_.forget(domain);  // leaves status; its alert ends, resolved_by target_removed
  const int64_t version = storage_.targets_version();
  spdlog::info("operator {} removed target {}; targets version {}", caller.token->name,
               printable(domain), version);
  return json_response(200, to_json(TargetsVersion{version}));
}

HttpResponse Api::get_agents(HttpRequest& /*request*/) {
  return json_response(200, to_json(read_.agents()));
}

HttpResponse Api::get_status(HttpRequest& /*request*/) {
  return json_response(200, to_json(read_.status()));
}

HttpResponse Api::get_explanation(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  const std::string domain = normalize_domain(caller.arguments.at(0));
  const auto explanation = read_.explanation(domain);
  if (!explanation) {
    throw ApiError(404, fmt::format("no results for \"{}\" yet", domain));
  }
  return json_response(200, to_json(*explanation));
}

HttpResponse Api::get_history(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  const std::string domain = normalize_domain(caller.arguments.at(0));
  const auto now = std::chrono::system_clock::now();
  TimePoint since = now - std::chrono::hours(24);
  if (const auto text = request.query_value("since")) {
    if (const auto ago = parse_duration(*text)) {
      since = now - *ago;
    } else if (const auto at = parse_time(*text)) {
      since = *at;
    } else {
      throw ApiError(400, fmt::format("since: \"{}\" is neither a duration (1h, 30m) nor an "
                                      "RFC 3339 UTC time of a real date (2026-11-25T04:00:00Z)",
                                      printable(*text)));
    }
  }
  size_t limit = 1000;
  if (const auto text = request.query_value("limit")) {
    const auto parsed = parse_count(*text);
    if (!parsed || *parsed < 1 || *parsed > 10000) {
      throw ApiError(400,
                     fmt::format("limit: \"{}\" is not a count from 1 to 10000", printable(*text)));
    }
    limit = *parsed;
  }
  return json_response(200, to_json(read_.history(domain, since, limit)));
}

HttpResponse Api::get_alerts(HttpRequest& /*request*/) {
  return json_response(200, to_json(read_.alerts()));
}

HttpResponse Api::get_metrics(HttpRequest& /*request*/) {
  MetricsText metrics;
  metrics.family("vantage_ingest_batches_total", "counter", "Result batches stored.");
  metrics.sample("vantage_ingest_batches_total", {}, batches_stored_.load());
  metrics.family("vantage_ingest_results_total", "counter",
                 "Results received in stored batches, by outcome.");
  metrics.sample("vantage_ingest_results_total", {{"outcome", "stored"}}, results_stored_.load());
  metrics.sample("vantage_ingest_results_total", {{"outcome", "duplicate"}},
                 results_duplicate_.load());
  metrics.sample("vantage_ingest_results_total", {{"outcome", "expired"}}, results_expired_.load());
  metrics.family("vantage_ingest_conflicts_total", "counter",
                 "Results refused (409) because their seq holds a different stored document.");
  metrics.sample("vantage_ingest_conflicts_total", {}, results_conflict_.load());
  metrics.family("vantage_http_errors_total", "counter", "Requests answered with an error.");
  {
    std::lock_guard lock(errors_mutex_);
    for (const auto& [status, count] : errors_by_status_) {
      metrics.sample("vantage_http_errors_total", {{"code", std::to_string(status)}}, count);
    }
  }
  metrics.family("vantage_http_error_log_lines_held_back_total", "counter",
                 "Error responses not logged: more than five a minute from one address (or token, "
                 "for 429) with the same status.");
  metrics.sample("vantage_http_error_log_lines_held_back_total", {},
                 static_cast<double>(error_lines_held_back_.load()));
  append_monitor_metrics(metrics, monitor_, storage_.agents());
  append_probe_metrics(metrics, monitor_.explanations());
  if (alerts_ != nullptr) {
    append_alert_metrics(metrics, *alerts_);
  }
  append_storage_metrics(metrics, storage_, retention_);
  append_uptime_metrics(metrics, *uptime_.all(std::chrono::system_clock::now()));
  return HttpResponse{200, metrics.text(), "text/plain; version=0.0.4; charset=utf-8", {}};
}

PublicStatusSource& Api::public_status() {
  if (!status_page_) {
    throw ApiError(404, "no status page is configured (collector.yaml: status_page)");
  }
  return *status_page_;
}

namespace {

// Public pages run no script and load nothing from elsewhere; this says so to the browser too, so
// that markup slipped into a name could not run even if escaping ever failed.
constexpr std::string_view kPublicPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'";

HttpResponse public_response(std::string body, std::string content_type) {
  return HttpResponse{200,
                      std::move(body),
                      std::move(content_type),
                      {{"Content-Security-Policy", std::string(kPublicPolicy)},
                       {"X-Content-Type-Options", "nosniff"},
                       {"Cache-Control", "public, max-age=30"}}};
}

}  // namespace

HttpResponse Api::get_status_page(HttpRequest& /*request*/) {
  const PublicStatus status = public_status().read(std::chrono::system_clock::now());
  return public_response(render_status_page(status), "text/html; charset=utf-8");
}

HttpResponse Api::get_status_summary(HttpRequest& /*request*/) {
  const PublicStatus status = public_status().read(std::chrono::system_clock::now());
  auto response =
      public_response(status_summary(status).dump(-1, ' ', false, json::error_handler_t::replace),
                      "application/json");
  // Statuspage answers any origin too: widgets on other sites read it.
  response.headers.emplace_back("Access-Control-Allow-Origin", "*");
  return response;
}

HttpResponse Api::get_status_badge(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  PublicStatusSource& source = public_status();
  const std::string domain = normalize_domain(caller.arguments.at(0));
  if (!source.shows(domain)) {
    throw ApiError(404, fmt::format("\"{}\" is not on the status page", domain));
  }
  const std::string& badge = caller.arguments.at(1);
  std::optional<UptimeWindow> window;
  if (badge != "status.svg") {
    for (const UptimeWindow candidate : kUptimeWindows) {
      if (badge == fmt::format("uptime-{}.svg", to_string(candidate))) {
        window = candidate;
      }
    }
    if (!window) {
      throw ApiError(404, fmt::format("no badge \"{}\" (status.svg, uptime-24h.svg, "
                                      "uptime-7d.svg, uptime-30d.svg, uptime-90d.svg)",
                                      badge));
    }
  }
  const PublicStatus status = source.read(std::chrono::system_clock::now());
  for (const StatusComponent& component : status.components) {
    if (component.domain == domain) {
      return public_response(window ? uptime_badge(component, *window) : status_badge(component),
                             "image/svg+xml");
    }
  }
  throw ApiError(404, fmt::format("\"{}\" is not on the status page", domain));
}

}  // namespace vantage
