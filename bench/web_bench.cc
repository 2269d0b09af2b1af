// vantage-web-bench: what the collector's pages cost to render for a large fleet. A fresh SQLite
// store gets `--days` of history (a result per domain and vantage a day, and one an hour for the
// last `--hourly-days`, folded into rollups as the collector folds them), then every agent uploads
// three live cycles of every domain through the collector's own Api, some domains failing from
// some or all vantages. Then the operator UI's overview, a domain's page, the public status page
// and its summary.json are each requested `--rounds` times through the Api (the collector's code
// path without the socket), against the JSON /api/v1/status of the same fleet in the same run.
// Memory is the heap in use (mallinfo2) before and after; times are reported, never asserted.
//
//   vantage-web-bench --domains 1000 --agents 20 --rounds 30 --out report.md

#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "api.hh"
#include "api_input.hh"
#include "collector_config.hh"
#include "correlation.hh"
#include "cycle_summary.hh"
#include "document_codec.hh"
#include "monitor.hh"
#include "reading.hh"
#include "result_json.hh"
#include "rollup.hh"
#include "sample_cycle.hh"
#include "storage.hh"
#include "tokens.hh"

namespace {

using vantage::Api;
using vantage::CycleResult;
using vantage::HttpRequest;
using vantage::HttpResponse;
using vantage::Storage;
using vantage::StoredResult;
using vantage::TimePoint;
using Clock = std::chrono::steady_clock;

struct Options {
  int domains = 1000;
  int agents = 20;
  int days = 90;
  int hourly_days = 7;
  int rounds = 30;
  std::vector<int> status_domains{20, 1000};
  std::string out;
  bool keep = false;
};

std::string domain_name(int index) {
  return fmt::format("site-{:04}.example", index);
}
std::string agent_name(int index) {
  return fmt::format("vp-{:02}", index + 1);
}

// Which vantages see a domain fail: every hundredth domain from all of them (a global outage),
// every twenty-fifth from the first half (partial), the rest from none.
bool fails(int domain, int agent, int agents) {
  return domain % 100 == 0 || (domain % 25 == 0 && agent < agents / 2);
}

// The sample healthy cycle, or the same with its server refusing every connection.
CycleResult cycle_of(int domain, int agent, int agents, TimePoint started) {
  CycleResult cycle = vantage::bench::healthy_cycle(domain_name(domain), started, agent);
  if (fails(domain, agent, agents)) {
    for (auto& probe : cycle.results) {
      if (probe.check == vantage::Check::Tcp || probe.check == vantage::Check::Https) {
        probe.failure = vantage::Failure::ConnRefused;
        probe.phase = vantage::Phase::Connect;
        probe.native_kind = vantage::NativeKind::Errno;
        probe.native_code = ECONNREFUSED;
        probe.detail = "connection refused";
        probe.http_status.reset();
        probe.tls.reset();
      }
    }
    cycle.reading = vantage::read_cycle(cycle);
  }
  return cycle;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

size_t heap_in_use() {
  return mallinfo2().uordblks;
}

std::string megabytes(size_t bytes) {
  return fmt::format("{:.1f} MB", bytes / 1e6);
}

// ---------------------------------------------------------------------------------------------
// The history: one stored document per domain and verdict, reused by every row of it (rendering
// reads rollups and verdicts, never old documents), stored through the Storage API and folded.

struct RowTemplate {
  std::string verdict;
  std::string document;
  std::string summary;
  vantage::CheckLatencies latencies{};
};

RowTemplate row_template(int domain, int agent, int agents, TimePoint started) {
  const CycleResult cycle = cycle_of(domain, agent, agents, started);
  return RowTemplate{
      std::string(vantage::to_string(cycle.reading.verdict)),
      vantage::document_codec::compress(vantage::to_json(cycle).dump()),
      vantage::encode_summary(vantage::summarize(agent_name(agent), std::nullopt, cycle)),
      vantage::check_latencies(cycle)};
}

// Returns the rows stored; each agent's seq runs on in `next_seq`.
size_t store_history(Storage& storage, const Options& options, TimePoint now,
                     std::vector<uint64_t>& next_seq) {
  std::vector<RowTemplate> good;
  std::vector<RowTemplate> bad;
  for (int domain = 0; domain < options.domains; ++domain) {
    good.push_back(row_template(domain, options.agents, options.agents, now));
    bad.push_back(row_template(domain, 0, options.agents, now));
  }
  // Result starts, oldest first: one a day before the hourly days, then one an hour, ending an
  // hour before the live cycles.
  const auto hour = std::chrono::hours(1);
  const auto day = std::chrono::hours(24);
  const TimePoint last_hour = std::chrono::floor<std::chrono::hours>(now) - hour;
  std::vector<TimePoint> starts;
  for (int d = options.days - 1; d >= options.hourly_days; --d) {
    starts.push_back(last_hour - day * d);
  }
  for (int h = options.hourly_days * 24 - 1; h >= 0; --h) {
    starts.push_back(last_hour - hour * h);
  }
  size_t stored = 0;
  std::vector<StoredResult> batch;
  for (size_t s = 0; s < starts.size(); ++s) {
    // A failing stretch: the domains that fail live also failed on one day in five.
    const bool bad_day = s % 5 == 0;
    for (int agent = 0; agent < options.agents; ++agent) {
      batch.clear();
      for (int domain = 0; domain < options.domains; ++domain) {
        const RowTemplate& row =
            bad_day && fails(domain, agent, options.agents) ? bad[domain] : good[domain];
        batch.push_back(StoredResult{.agent = agent_name(agent),
                                     .epoch = 1,
                                     .seq = next_seq[agent]++,
                                     .domain = domain_name(domain),
                                     .started_at = starts[s] + std::chrono::seconds(agent),
                                     .verdict = row.verdict,
                                     .document = row.document,
                                     .summary = row.summary,
                                     .latencies = row.latencies});
      }
      stored += storage.store_results(batch).inserted;
    }
  }
  while (storage.fold_rollups(vantage::fold_before(now), 50000) > 0) {
  }
  return stored;
}

// ---------------------------------------------------------------------------------------------
// Requests through the Api, as the HTTP server hands them over.

HttpResponse call(Api& api, HttpRequest request) {
  if (auto early = api.begin(request)) {
    return *early;
  }
  return api.complete(request);
}

HttpRequest request_for(std::string method, std::string path,
                        std::vector<std::pair<std::string, std::string>> headers = {},
                        std::string body = "") {
  HttpRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.peer = "192.0.2.1";
  request.headers = std::move(headers);
  request.body = std::move(body);
  return request;
}

std::string header_of(const HttpResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) {
      return value;
    }
  }
  return "";
}

// "name=value" of a Set-Cookie value.
std::string cookie_pair(const std::string& set_cookie) {
  return set_cookie.substr(0, set_cookie.find(';'));
}

// Agent `agent` posts `body` to `path` with its token, as the agent daemon does.
void post_as(Api& api, const std::vector<std::string>& tokens, int agent, const std::string& path,
             const std::string& body) {
  const HttpResponse response = call(api, request_for("POST", path,
                                                      {{"authorization", "Bearer " + tokens[agent]},
                                                       {"content-type", "application/json"}},
                                                      body));
  if (response.status != 200) {
    throw std::runtime_error(
        fmt::format("{} of {}: {} {}", path, agent_name(agent), response.status, response.body));
  }
}

// The upload of one cycle of every domain by `agent`, started at `started`.
std::string upload_body(const Options& options, int agent, TimePoint started,
                        std::vector<uint64_t>& next_seq) {
  nlohmann::json results = nlohmann::json::array();
  for (int domain = 0; domain < options.domains; ++domain) {
    results.push_back(
        {{"cycle", vantage::to_json(cycle_of(domain, agent, options.agents, started))},
         {"seq", next_seq[agent]++}});
  }
  return nlohmann::json{
      {"agent", agent_name(agent)}, {"epoch", 1}, {"results", results}, {"schema_version", 1}}
      .dump();
}

// Every agent sends a heartbeat (its network: one of five ASNs), then uploads three cycles of
// every domain, five minutes apart, the newest a minute old.
void upload_live(Api& api, const Options& options, const std::vector<std::string>& tokens,
                 TimePoint now, std::vector<uint64_t>& next_seq) {
  for (int agent = 0; agent < options.agents; ++agent) {
    post_as(api, tokens, agent, "/api/v1/heartbeat",
            nlohmann::json{{"agent", agent_name(agent)},
                           {"epoch", 1},
                           {"version", "bench"},
                           {"asn", 64496 + agent % 5},
                           {"interval_ms", 300000}}
                .dump());
  }
  constexpr int kCycles = 3;
  for (int round = 0; round < kCycles; ++round) {
    const TimePoint started = now - std::chrono::minutes(1 + 5 * (kCycles - 1 - round));
    for (int agent = 0; agent < options.agents; ++agent) {
      post_as(api, tokens, agent, "/api/v1/results",
              upload_body(options, agent, started, next_seq));
    }
  }
}

// Logs in through the form as a browser does; the session's Cookie header value.
std::string log_in(Api& api, const std::string& token, const std::string& peer) {
  const HttpResponse form = call(api, request_for("GET", "/ui/login"));
  std::smatch match;
  const std::regex field(R"re(name="csrf" value="([0-9a-f]{64})")re");
  if (!std::regex_search(form.body, match, field)) {
    throw std::runtime_error("the login form has no csrf field");
  }
  HttpRequest post = request_for("POST", "/ui/login",
                                 {{"cookie", cookie_pair(header_of(form, "Set-Cookie"))},
                                  {"content-type", "application/x-www-form-urlencoded"}},
                                 fmt::format("csrf={}&token={}", match[1].str(), token));
  post.peer = peer;
  const HttpResponse login = call(api, std::move(post));
  if (login.status != 303) {
    throw std::runtime_error(fmt::format("login: {} {}", login.status, login.body));
  }
  return cookie_pair(header_of(login, "Set-Cookie"));
}

// ---------------------------------------------------------------------------------------------
// Measuring.

struct Timing {
  std::string what;
  double first_ms = 0;  // the first request, when caches are cold
  std::vector<double> ms;
  size_t bytes = 0;
  int status = 0;

  double quantile(double q) const {
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()))];
  }
};

Timing measure(Api& api, const std::string& what, const HttpRequest& request, int rounds) {
  Timing timing{.what = what, .first_ms = 0, .ms = {}, .bytes = 0, .status = 0};
  for (int round = 0; round <= rounds; ++round) {
    const auto start = Clock::now();
    const HttpResponse response = call(api, request);
    const double took = ms_since(start);
    if (round == 0) {
      timing.first_ms = took;
    } else {
      timing.ms.push_back(took);
    }
    timing.bytes = response.body.size();
    timing.status = response.status;
  }
  return timing;
}

std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one;
  std::string five;
  std::string fifteen;
  file >> one >> five >> fifteen;
  return file ? fmt::format("{} {} {}", one, five, fifteen) : "unknown";
}

int run(const Options& options) {
  const auto dir = std::filesystem::temp_directory_path() /
                   fmt::format("vantage-web-bench-{}", static_cast<long>(getpid()));
  std::filesystem::create_directories(dir);
  std::string report;
  {
    const auto storage = vantage::open_storage(
        vantage::StorageConfig{vantage::StorageConfig::Kind::Sqlite, (dir / "store.db").string()});
    storage->migrate();
    std::vector<std::string> tokens;
    tokens.reserve(static_cast<size_t>(options.agents));
    for (int agent = 0; agent < options.agents; ++agent) {
      tokens.push_back(vantage::create_token(*storage, agent_name(agent), vantage::TokenKind::Agent,
                                             std::chrono::system_clock::now()));
    }
    const std::string operator_token = vantage::create_token(
        *storage, "bench-operator", vantage::TokenKind::Operator, std::chrono::system_clock::now());

    const TimePoint now = std::chrono::system_clock::now();
    std::vector<uint64_t> next_seq(static_cast<size_t>(options.agents), 1);
    auto start = Clock::now();
    const size_t history_rows = store_history(*storage, options, now, next_seq);
    const double history_s = ms_since(start) / 1000;
    fmt::print(stderr, "history: {} rows stored and folded in {:.0f} s\n", history_rows, history_s);

    vantage::Monitor monitor(*storage, vantage::CorrelationConfig{}, nullptr, nullptr);
    monitor.resume();
    const auto api_options = [&](int shown) {
      vantage::ApiOptions api;
      api.requests_per_second = 1e9;  // measuring, not limiting
      for (int domain = 0; domain < std::min(shown, options.domains); ++domain) {
        api.status_page.domains.push_back(domain_name(domain));
      }
      return api;
    };
    Api api(*storage, api_options(0), monitor, nullptr);
    start = Clock::now();
    upload_live(api, options, tokens, now, next_seq);
    fmt::print(stderr, "live: {} results uploaded in {:.1f} s\n",
               size_t{3} * options.agents * options.domains, ms_since(start) / 1000);

    const size_t heap_before = heap_in_use();
    const std::string session = log_in(api, operator_token, "192.0.2.1");
    const std::vector<std::pair<std::string, std::string>> browser = {{"cookie", session}};
    std::vector<Timing> timings;
    // The peer first: it fills the uptime cache the overview then finds warm, as it finds it
    // under Prometheus scraping /metrics.
    timings.push_back(measure(
        api, "JSON `GET /api/v1/status` (peer)",
        request_for("GET", "/api/v1/status", {{"authorization", "Bearer " + operator_token}}),
        options.rounds));
    timings.push_back(
        measure(api, fmt::format("overview `GET /ui/` ({} × {})", options.domains, options.agents),
                request_for("GET", "/ui/", browser), options.rounds));
    timings.push_back(measure(
        api, "overview filtered `GET /ui/?verdict=SERVER_DOWN&sort=since`",
        [&] {
          HttpRequest request = request_for("GET", "/ui/", browser);
          request.query = {{"verdict", "SERVER_DOWN"}, {"sort", "since"}};
          return request;
        }(),
        options.rounds));
    timings.push_back(measure(api, "domain page `GET /ui/domains/site-0000.example`",
                              request_for("GET", "/ui/domains/site-0000.example", browser),
                              options.rounds));
    timings.push_back(measure(api, "agents page `GET /ui/agents`",
                              request_for("GET", "/ui/agents", browser), options.rounds));
    const size_t heap_after_ui = heap_in_use();
    size_t heap_after_status = heap_after_ui;
    for (const int shown : options.status_domains) {
      Api page_api(*storage, api_options(shown), monitor, nullptr);
      const int count = std::min(shown, options.domains);
      timings.push_back(measure(page_api,
                                fmt::format("status page `GET /status` ({} domains)", count),
                                request_for("GET", "/status"), options.rounds));
      timings.push_back(measure(page_api,
                                fmt::format("`GET /status/summary.json` ({} domains)", count),
                                request_for("GET", "/status/summary.json"), options.rounds));
      heap_after_status = std::max(heap_after_status, heap_in_use());
    }

    // Once the uptime figures are older than the cache's 30 s: the overview comes at once with
    // the figures held while a read starts in the background; an upload meanwhile waits for
    // that read to let go of the store. Against an upload at rest.
    const auto timed_upload = [&](int agent) {
      const std::string body =
          upload_body(options, agent, std::chrono::system_clock::now(), next_seq);
      const auto posted = Clock::now();
      post_as(api, tokens, agent, "/api/v1/results", body);
      return ms_since(posted);
    };
    const double upload_at_rest_ms = timed_upload(0);
    std::this_thread::sleep_for(std::chrono::seconds(31));
    start = Clock::now();
    const HttpResponse expired = call(api, request_for("GET", "/ui/", browser));
    const double expired_overview_ms = ms_since(start);
    const double upload_during_read_ms = timed_upload(1 % options.agents);
    if (expired.status != 200) {
      throw std::runtime_error(fmt::format("overview after 31 s: {}", expired.status));
    }

    // The uptime read itself, as the background read does it.
    std::vector<double> uptime_ms;
    for (int round = 0; round < std::min(options.rounds, 3); ++round) {
      start = Clock::now();
      const auto uptime = storage->uptime("", std::chrono::system_clock::now());
      uptime_ms.push_back(ms_since(start));
    }
    std::sort(uptime_ms.begin(), uptime_ms.end());

    // Sessions at their cap: 10,000 logins from as many addresses.
    const size_t heap_before_sessions = heap_in_use();
    constexpr int kSessions = 10000;
    for (int i = 0; i < kSessions; ++i) {
      log_in(api, operator_token, fmt::format("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255));
    }
    const size_t heap_sessions = heap_in_use() - heap_before_sessions;

    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    report += fmt::format(
        "# bench/web — pages for {} domains × {} vantages\n\n"
        "Store: SQLite, {} history rows ({} days, hourly for the last {}) folded into rollups, "
        "then {} live results uploaded through the Api. {} rounds per page after a first "
        "request; load average {}.\n\n"
        "| request | first (cold) ms | median ms | p90 ms | max ms | bytes | median / peer |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n",
        options.domains, options.agents, history_rows, options.days, options.hourly_days,
        size_t{3} * options.agents * options.domains, options.rounds, load_average());
    const double peer = timings.front().quantile(0.5);
    for (const Timing& timing : timings) {
      if (timing.status != 200) {
        throw std::runtime_error(fmt::format("{}: status {}", timing.what, timing.status));
      }
      report +=
          fmt::format("| {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {} | {:.2f} |\n", timing.what,
                      timing.first_ms, timing.quantile(0.5), timing.quantile(0.9),
                      timing.quantile(1.0), timing.bytes, timing.quantile(0.5) / peer);
    }
    report += fmt::format(
        "\nThe uptime read of every domain from the rollups (all 24 h, 7 d, 30 d and 90 d "
        "windows; what the first request after start waits for, and what a background read "
        "takes every 30 s while pages are requested): median {:.0f} ms of {} reads. The "
        "overview requested once the figures were 31 s old: {:.1f} ms (the held figures, a read "
        "started). An upload of {} results meanwhile: {:.0f} ms, against {:.0f} ms at rest.\n\n"
        "Heap in use (mallinfo2): {} after the live uploads; +{} once the UI pages were served "
        "(session, uptime cache); +{} after the status pages (day bars cached); 10,000 UI "
        "sessions (the cap) hold {}. Peak RSS {}.\n",
        uptime_ms[uptime_ms.size() / 2], uptime_ms.size(), expired_overview_ms, options.domains,
        upload_during_read_ms, upload_at_rest_ms, megabytes(heap_before),
        megabytes(heap_after_ui - heap_before), megabytes(heap_after_status - heap_after_ui),
        megabytes(heap_sessions), megabytes(static_cast<size_t>(usage.ru_maxrss) * 1024));
  }
  fmt::print("{}", report);
  if (!options.out.empty()) {
    std::ofstream(options.out) << report;
  }
  if (options.keep) {
    fmt::print(stderr, "kept {}\n", dir.string());
  } else {
    std::filesystem::remove_all(dir);
  }
  return 0;
}

int run_main(int argc, char** argv) {
  CLI::App app{
      "Times the collector's pages (operator UI overview, domain page, public status "
      "page) for a large fleet, against its JSON status of the same fleet."};
  Options options;
  app.add_option("--domains", options.domains, "domains, each probed by every agent")
      ->check(CLI::Range(1, 10000));
  app.add_option("--agents", options.agents, "agents (vantages)")->check(CLI::Range(1, 200));
  app.add_option("--days", options.days, "days of stored history")->check(CLI::Range(1, 90));
  app.add_option("--hourly-days", options.hourly_days,
                 "the last days of history with a result an hour (before: one a day)")
      ->check(CLI::Range(0, 90));
  app.add_option("--rounds", options.rounds, "requests per page after the first")
      ->check(CLI::Range(1, 1000));
  app.add_option("--status-domains", options.status_domains,
                 "domains on the status page, one measurement per count");
  app.add_option("--out", options.out, "also write the report (markdown) to FILE");
  app.add_flag("--keep", options.keep, "keep the store in its temp dir");
  CLI11_PARSE(app, argc, argv);
  // The collector's info lines (a login, a stored batch) would bury the report.
  spdlog::set_level(spdlog::level::warn);
  options.hourly_days = std::min(options.hourly_days, options.days);
  try {
    return run(options);
  } catch (const std::exception& error) {
    fmt::print(stderr, "vantage-web-bench: {}\n", error.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (...) {
    std::fputs("vantage-web-bench: unexpected error\n", stderr);
    return 1;
  }
}
