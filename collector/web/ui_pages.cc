#include "ui_pages.hh"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <utility>

#include "api_input.hh"
#include "html.hh"
#include "printable.hh"
#include "rollup.hh"
#include "tokens.hh"
#include "ui_render.hh"

namespace vantage {
namespace {

constexpr std::string_view kSessionCookie = "vantage_session";
constexpr std::string_view kLoginCookie = "vantage_login";
constexpr auto kSessionLifetime = std::chrono::hours(12);
constexpr size_t kMaxSessions = 10000;
constexpr size_t kUiDays = 90;

// Pages run no script from anywhere, load nothing from elsewhere, post forms only to the
// collector and cannot be framed (clickjacking).
constexpr std::string_view kUiPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

HttpResponse html(int status, std::string body) {
  return HttpResponse{status,
                      std::move(body),
                      "text/html; charset=utf-8",
                      {{"Content-Security-Policy", std::string(kUiPolicy)},
                       {"X-Frame-Options", "DENY"},
                       {"X-Content-Type-Options", "nosniff"},
                       {"Referrer-Policy", "no-referrer"},
                       {"Cache-Control", "no-store"}}};
}

HttpResponse redirect(std::string_view to) {
  HttpResponse response = html(303, "");
  response.headers.emplace_back("Location", std::string(to));
  return response;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// application/x-www-form-urlencoded, as a browser posts a form.
std::string form_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(std::string_view body) {
  std::map<std::string, std::string> fields;
  while (!body.empty()) {
    const size_t end = std::min(body.find('&'), body.size());
    const std::string_view pair = body.substr(0, end);
    const size_t equals = pair.find('=');
    if (equals != std::string_view::npos) {
      fields.emplace(form_decode(pair.substr(0, equals)), form_decode(pair.substr(equals + 1)));
    }
    body.remove_prefix(std::min(end + 1, body.size()));
  }
  return fields;
}

// The value of cookie `name` in the request's Cookie header, or "".
std::string cookie_value(const HttpRequest& request, std::string_view name) {
  const auto header = request.header("cookie");
  if (!header) {
    return "";
  }
  std::string_view rest = *header;
  while (!rest.empty()) {
    const size_t end = std::min(rest.find(';'), rest.size());
    std::string_view pair = rest.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') {
      pair.remove_prefix(1);
    }
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  return "";
}

std::optional<UiCell> cell_of(const Explanation& explanation, const std::string& agent) {
  for (const VantageView& vantage : explanation.vantages) {
    if (vantage.agent == agent) {
      return UiCell{.verdict = vantage.effective, .latest = vantage.latest, .fresh = vantage.fresh};
    }
  }
  return std::nullopt;
}

// Each UTC day's worst verdict, from the verdict the domain held at the first day's start and
// every change since.
std::vector<UiDay> verdict_days(Storage& storage, const DomainState& state, TimePoint now) {
  const auto day = span_length(RollupSpan::Day);
  const TimePoint first = span_start(RollupSpan::Day, now) - day * int64_t{kUiDays - 1};
  std::vector<UiDay> days(kUiDays);
  for (size_t i = 0; i < kUiDays; ++i) {
    days[i].start = first + day * static_cast<int64_t>(i);
  }
  constexpr size_t kMaxChanges = 10000;
  const auto changes = storage.verdict_history(state.domain, first, kMaxChanges);
  const auto mark = [&](Verdict verdict, TimePoint from, TimePoint to) {
    for (UiDay& entry : days) {
      if (entry.start < to && from < entry.start + day) {
        if (!entry.worst || verdict_severity(verdict) > verdict_severity(*entry.worst)) {
          entry.worst = verdict;
        }
      }
    }
  };
  // No change in the window: the verdict held since before it, if the domain had one then.
  const bool known_at_start = !changes.empty() || state.since <= first;
  Verdict held = changes.empty() ? state.verdict : changes.front().previous_verdict;
  TimePoint from = first;
  for (const VerdictRecord& change : changes) {
    if (known_at_start || from != first) {
      mark(held, from, change.changed_at);
    }
    for (UiDay& entry : days) {
      if (entry.start <= change.changed_at && change.changed_at < entry.start + day) {
        ++entry.changes;
      }
    }
    held = change.verdict;
    from = change.changed_at;
  }
  if (known_at_start || !changes.empty()) {
    mark(held, from, now + std::chrono::milliseconds(1));
  }
  return days;
}

}  // namespace

OperatorUi::OperatorUi(ReadModel& read, TokenVerifier& tokens, bool tls)
    : read_(read), tokens_(tokens), tls_(tls), sessions_(kSessionLifetime, kMaxSessions) {}

std::string OperatorUi::cookie(std::string_view name, std::string_view value, std::string_view path,
                               std::chrono::seconds max_age) const {
  return fmt::format("{}={}; Path={}; Max-Age={}; HttpOnly; SameSite=Strict{}", name, value, path,
                     max_age.count(), tls_ ? "; Secure" : "");
}

HttpResponse OperatorUi::handle(const HttpRequest& request, UiRoute route,
                                const std::vector<std::string>& arguments) {
  if (route == UiRoute::Root) {
    return redirect("/ui/");
  }
  if (route == UiRoute::LoginForm) {
    return login_form("", 200);
  }
  if (route == UiRoute::Login) {
    return login(request);
  }
  const auto now = std::chrono::system_clock::now();
  auto session = sessions_.find(cookie_value(request, kSessionCookie), now);
  // A session lasts only as long as the token it was opened with.
  if (session && !tokens_.accepted(session->token_hash, now)) {
    sessions_.close(cookie_value(request, kSessionCookie));
    session.reset();
  }
  if (!session) {
    return redirect("/ui/login");
  }
  switch (route) {
    case UiRoute::Logout:
      return logout(request, *session);
    case UiRoute::Overview:
      return overview(request, *session);
    case UiRoute::Domain:
      return domain(arguments.at(0), *session);
    case UiRoute::Agents:
      return html(200, render_agents({"Agents", session->operator_name, session->csrf, "agents"},
                                     read_.agents()));
    case UiRoute::Alerts:
      return html(200, render_alerts({"Alerts", session->operator_name, session->csrf, "alerts"},
                                     read_.alerts()));
    case UiRoute::Root:
    case UiRoute::LoginForm:
    case UiRoute::Login:
      break;
  }
  return redirect("/ui/");
}

// The login form carries a random value that must come back both as a field and as a cookie only
// this site can set: another site cannot make a browser log in with the attacker's token.
HttpResponse OperatorUi::login_form(const std::string& error, int status) {
  const std::string csrf = random_secret();
  HttpResponse response = html(status, render_login(csrf, error));
  response.headers.emplace_back("Set-Cookie",
                                cookie(kLoginCookie, csrf, "/ui/login", std::chrono::hours(1)));
  return response;
}

HttpResponse OperatorUi::login(const HttpRequest& request) {
  const auto form = parse_form(request.body);
  const auto field = [&](const std::string& name) {
    const auto found = form.find(name);
    return found != form.end() ? found->second : std::string();
  };
  if (!same_secret(field("csrf"), cookie_value(request, kLoginCookie))) {
    spdlog::warn("operator UI: login from {} without its form's CSRF value: refused", request.peer);
    return login_form("The login form expired. Enter the token again.", 403);
  }
  if (!login_attempts_.allow(request.peer)) {
    return login_form("Too many attempts from this address; wait a few seconds.", 429);
  }
  const auto presented = tokens_.verify(field("token"), std::chrono::system_clock::now());
  const auto& token = presented.accepted;
  if (!token || token->kind != TokenKind::Operator) {
    spdlog::warn("operator UI: login from {} refused: {}", request.peer,
                 token             ? fmt::format("an agent token ({})", token->name)
                 : presented.ended ? fmt::format("the ended token of {}", presented.ended->name)
                                   : std::string("unknown token"));
    return login_form("That is not an operator token.", 401);
  }
  const std::string id = sessions_.open(token->name, token->hash, std::chrono::system_clock::now());
  spdlog::info("operator UI: {} logged in from {}", token->name, request.peer);
  HttpResponse response = redirect("/ui/");
  response.headers.emplace_back(
      "Set-Cookie", cookie(kSessionCookie, id, "/ui",
                           std::chrono::duration_cast<std::chrono::seconds>(sessions_.lifetime())));
  response.headers.emplace_back("Set-Cookie",
                                cookie(kLoginCookie, "", "/ui/login", std::chrono::seconds(0)));
  return response;
}

HttpResponse OperatorUi::logout(const HttpRequest& request, const UiSession& session) {
  const auto form = parse_form(request.body);
  const auto csrf = form.find("csrf");
  if (csrf == form.end() || !same_secret(csrf->second, session.csrf)) {
    spdlog::warn("operator UI: logout of {} from {} without the session's CSRF token: refused",
                 session.operator_name, request.peer);
    return html(403,
                "<!DOCTYPE html><title>Refused</title><p>This form did not come from this "
                "session. <a href=\"/ui/\">Back</a></p>");
  }
  sessions_.close(cookie_value(request, kSessionCookie));
  spdlog::info("operator UI: {} logged out", session.operator_name);
  HttpResponse response = redirect("/ui/login");
  response.headers.emplace_back("Set-Cookie",
                                cookie(kSessionCookie, "", "/ui", std::chrono::seconds(0)));
  return response;
}

HttpResponse OperatorUi::overview(const HttpRequest& request, const UiSession& session) {
  UiOverview overview;
  overview.verdict_filter = request.query_value("verdict").value_or("");
  overview.sort = request.query_value("sort").value_or("domain");
  if (!overview.verdict_filter.empty() && !verdict_from_string(overview.verdict_filter)) {
    return html(400, fmt::format("<!DOCTYPE html><title>Bad request</title><p>verdict: \"{}\" is "
                                 "not a verdict. <a href=\"/ui/\">Every domain</a></p>",
                                 html_escape(printable(overview.verdict_filter))));
  }
  const auto explanations = read_.monitor().explanations();
  std::map<std::string, const Explanation*> by_domain;
  std::set<std::string> vantages;
  std::vector<DomainState> states;
  states.reserve(explanations.size());
  for (const Explanation& explanation : explanations) {
    by_domain.emplace(explanation.state.domain, &explanation);
    states.push_back(explanation.state);
    for (const VantageView& vantage : explanation.vantages) {
      vantages.insert(vantage.agent);
    }
  }
  for (const AgentRecord& agent : read_.storage().agents()) {
    vantages.insert(agent.name);
  }
  overview.vantages.assign(vantages.begin(), vantages.end());
  for (StatusEntry& entry : read_.status(std::move(states))) {
    if (!overview.verdict_filter.empty() &&
        to_string(entry.state.verdict) != overview.verdict_filter) {
      continue;
    }
    UiOverviewRow row{.status = std::move(entry), .cells = {}};
    const auto found = by_domain.find(row.status.state.domain);
    for (const std::string& vantage : overview.vantages) {
      row.cells.push_back(found != by_domain.end() ? cell_of(*found->second, vantage)
                                                   : std::nullopt);
    }
    overview.rows.push_back(std::move(row));
  }
  if (overview.sort == "since") {
    // Newest first; never reported last.
    std::stable_sort(overview.rows.begin(), overview.rows.end(), [](const auto& a, const auto& b) {
      return std::pair(a.status.reported, a.status.state.since) >
             std::pair(b.status.reported, b.status.state.since);
    });
  }
  return html(200, render_overview({"Overview", session.operator_name, session.csrf, "overview"},
                                   overview));
}

HttpResponse OperatorUi::domain(const std::string& name, const UiSession& session) {
  const std::string domain = normalize_domain(name);
  const auto explanation = read_.explanation(domain);
  if (!explanation) {
    return html(404, fmt::format("<!DOCTYPE html><title>Not found</title><p>No results for "
                                 "\"{}\" yet. <a href=\"/ui/\">Overview</a></p>",
                                 html_escape(domain)));
  }
  const auto days =
      verdict_days(read_.storage(), explanation->state, std::chrono::system_clock::now());
  return html(200, render_domain({domain, session.operator_name, session.csrf, "overview"},
                                 *explanation, days));
}

}  // namespace vantage
