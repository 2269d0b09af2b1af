#include "api.hh"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>

#include "api_input.hh"
#include "tokens.hh"

namespace vantage {
namespace {

using nlohmann::json;

enum class Route : uint8_t {
  Health,
  Results,
  Heartbeat,
  ListTargets,
  AddTarget,
  RemoveTarget,
  Agents
};
enum class Access : uint8_t { Anyone, Agent, AgentOrOperator, Operator };

struct RouteEntry {
  std::string_view path;  // "*" at the end: one more path segment, the route's argument
  std::string_view method;
  Route route;
  Access access;
};

constexpr std::string_view kTargetsPrefix = "/api/v1/targets/";

constexpr std::array<RouteEntry, 7> kRoutes = {{
    {"/healthz", "GET", Route::Health, Access::Anyone},
    {"/api/v1/results", "POST", Route::Results, Access::Agent},
    {"/api/v1/heartbeat", "POST", Route::Heartbeat, Access::Agent},
    {"/api/v1/targets", "GET", Route::ListTargets, Access::AgentOrOperator},
    {"/api/v1/targets", "POST", Route::AddTarget, Access::Operator},
    {"/api/v1/targets/*", "DELETE", Route::RemoveTarget, Access::Operator},
    {"/api/v1/agents", "GET", Route::Agents, Access::Operator},
}};

// What begin() learnt about a request, kept in HttpRequest::context for complete() and for the
// log line of any rejection.
struct Caller {
  const RouteEntry* route = nullptr;
  std::optional<TokenRecord> token;
  std::string argument;  // the DOMAIN of DELETE /api/v1/targets/DOMAIN
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
  return HttpResponse{status, body.dump(), "application/json", {}};
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

}  // namespace

Api::Api(Storage& storage, ApiOptions options)
    : storage_(storage),
      options_(options),
      limiter_(options.requests_per_second, 2 * options.requests_per_second) {}

std::optional<HttpResponse> Api::begin(HttpRequest& request) {
  Caller caller;
  std::string allow;
  std::string_view lookup = request.path;
  if (lookup.rfind(kTargetsPrefix, 0) == 0 && lookup.size() > kTargetsPrefix.size() &&
      lookup.find('/', kTargetsPrefix.size()) == std::string_view::npos) {
    caller.argument = request.path.substr(kTargetsPrefix.size());
    lookup = "/api/v1/targets/*";
  }
  for (const auto& entry : kRoutes) {
    if (entry.path != lookup) {
      continue;
    }
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
  if (caller.route->access == Access::Anyone) {
    return std::nullopt;
  }

  const std::string token = bearer_token(request);
  if (token.empty()) {
    return reject(request, 401, "missing bearer token");
  }
  caller.token = verify_token(storage_, token);
  if (!caller.token) {
    return reject(request, 401, "unknown token");
  }
  request.context = caller;
  const bool is_agent = caller.token->kind == kAgentToken;
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
                       const std::string& reason) {
  std::string who;
  if (const Caller* caller = caller_of(request); caller != nullptr && caller->token) {
    who = fmt::format(" {} {}", caller->token->kind, caller->token->name);
  }
  const auto level = status >= 500 ? spdlog::level::err : spdlog::level::warn;
  spdlog::log(level, "HTTP {} {} {} from {}{}: {}", status, request.method, request.path,
              request.peer, who, reason);
  return json_response(status, {{"error", public_reason}});
}

HttpResponse Api::post_results(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  const json body = parse_json_body(request.body);
  const auto batch = parse_result_batch(body, caller.token->name, std::chrono::system_clock::now());
  // One call, one transaction: the batch is stored whole or not at all, and only then is it
  // acknowledged, so an agent may drop from its spool exactly what a 200 names.
  const StoreOutcome outcome = storage_.store_results(batch.results);
  spdlog::debug("stored {} results from agent {} ({} duplicates)", outcome.inserted,
                caller.token->name, outcome.duplicates);
  return json_response(200, {{"accepted", outcome.inserted},
                             {"duplicates", outcome.duplicates},
                             {"acked_seq", batch.max_seq}});
}

HttpResponse Api::post_heartbeat(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  const json body = parse_json_body(request.body);
  storage_.upsert_agent(
      parse_heartbeat(body, caller.token->name, request.peer, std::chrono::system_clock::now()));
  return json_response(200, {{"ok", true}});
}

HttpResponse Api::get_targets(HttpRequest& request) {
  // One read for both, so the ETag always names the list it comes with.
  const TargetSet set = storage_.target_set();
  const std::string etag = fmt::format("\"{}\"", set.version);
  if (const auto condition = request.header("if-none-match");
      condition && etag_matches(*condition, etag)) {
    return HttpResponse{304, "", "application/json", {{"ETag", etag}}};
  }
  json targets = json::array();
  for (const auto& target : set.targets) {
    targets.push_back(to_json(target));
  }
  auto response = json_response(200, {{"version", set.version}, {"targets", targets}});
  response.headers.emplace_back("ETag", etag);
  return response;
}

HttpResponse Api::post_target(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  const TargetRecord target = parse_target(parse_json_body(request.body));
  const bool changed = storage_.put_target(target);
  const int64_t version = storage_.targets_version();
  spdlog::info("operator {} {} target {} (port {}, path {}); targets version {}",
               caller.token->name, changed ? "set" : "re-sent the unchanged", target.domain,
               target.port, target.path, version);
  return json_response(201, {{"version", version}});
}

HttpResponse Api::delete_target(HttpRequest& request) {
  const Caller& caller = *caller_of(request);
  const std::string domain = normalize_domain(caller.argument);
  if (!storage_.remove_target(domain)) {
    throw ApiError(404, fmt::format("no target \"{}\"", domain));
  }
  const int64_t version = storage_.targets_version();
  spdlog::info("operator {} removed target {}; targets version {}", caller.token->name, domain,
               version);
  return json_response(200, {{"version", version}});
}

HttpResponse Api::get_agents(HttpRequest& /*request*/) {
  json agents = json::array();
  for (const auto& agent : storage_.agents()) {
    agents.push_back(to_json(agent));
  }
  return json_response(200, agents);
}

}  // namespace vantage
