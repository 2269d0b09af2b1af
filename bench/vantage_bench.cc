// vantage-bench: runs probes through the engine, in-process, and reports what they cost this
// process. Driven by bench/run, which starts the nginx the probes talk to and compares the numbers
// with blackbox_exporter's in the same run. Prints one line of key=value pairs on stdout.
//
//   vantage-bench https --address 127.0.0.1:8443 --domain bench.test --ca ca.pem --count 2000
//   vantage-bench tcp   --address 127.0.0.1:8443 --count 5000
//   vantage-bench rss   --address 127.0.0.1:8443 --domain bench.test --ca ca.pem --targets 10000
//   vantage-bench cycles --address 127.0.0.1:8443 --dns 127.0.0.1:5399 --ca ca.pem --targets 10000
//
// CPU is getrusage(RUSAGE_SELF) user + system time around the measured probes only: the engine's
// setup and the warm-up probes (OpenSSL and curl initialisation, the CA store) are excluded.

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cycle.hh"
#include "endpoint.hh"
#include "event_loop.hh"
#include "http.hh"
#include "limiter.hh"
#include "result.hh"
#include "tcp_connect.hh"

namespace {

using vantage::Check;
using vantage::Endpoint;
using vantage::Engine;
using vantage::EventLoop;
using vantage::HttpRequest;
using vantage::ProbeDone;
using vantage::ProbeResult;

#ifdef VANTAGE_BENCH_BUILD_TYPE
constexpr const char* kBuildType = VANTAGE_BENCH_BUILD_TYPE;
#else
constexpr const char* kBuildType = "unknown";
#endif

struct Options {
  std::string mode;
  std::string address;
  std::string domain = "bench.test";
  std::string ca_file;
  size_t count = 2000;
  size_t warmup = 50;
  size_t concurrency = 16;
  size_t targets = 10000;
  std::string dns;   // cycles, silence: where the resolver and the nameservers are said to be
  std::string loud;  // silence: an address that refuses connections at once
  int timeout_ms = 10000;
  int max_seconds = 600;
};

struct Usage {
  double user_s = 0;
  double sys_s = 0;
  long maxrss_kb = 0;
  std::chrono::steady_clock::time_point wall;
};

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

Usage usage_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return Usage{seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss,
               std::chrono::steady_clock::now()};
}

// The current resident set, from /proc (ru_maxrss gives only the peak).
long current_rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kb = 0;
      status >> kb;
      return kb;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

// Bytes the allocator has handed out and not had back: the state the process holds, without
// the allocator's free lists and the peak of in-flight probes that ru_maxrss includes.
long heap_in_use_kb() {
  return static_cast<long>(mallinfo2().uordblks / 1024);
}

// What came back, by class; a failed probe does less work than a good one, so bench/run flags
// any run with failures.
struct Tally {
  size_t ok = 0;
  size_t failed = 0;
  size_t tls13 = 0;
  std::map<std::string, size_t> failures;
  std::string first_failure;

  void add(const ProbeResult& result) {
    if (result.tls && result.tls->version == "TLSv1.3") {
      ++tls13;
    }
    if (result.ok()) {
      ++ok;
      return;
    }
    ++failed;
    ++failures[std::string(vantage::to_string(result.failure))];
    if (first_failure.empty()) {
      first_failure =
          fmt::format("{} {} at {}: {} (native {} {})", result.subject,
                      vantage::to_string(result.failure), vantage::to_string(result.phase),
                      result.detail, vantage::to_string(result.native_kind), result.native_code);
    }
  }

  std::string summary() const {
    std::string classes;
    for (const auto& [name, n] : failures) {
      classes += fmt::format("{}{}:{}", classes.empty() ? "" : ",", name, n);
    }
    return fmt::format("ok={} failed={} tls13={}{}", ok, failed, tls13,
                       classes.empty() ? "" : " failures=" + classes);
  }
};

// Starts probe number `i`, which must call `done` once.
using StartProbe = std::function<void(size_t i, ProbeDone done)>;

// Runs `count` probes through the engine's concurrency bound and the loop until all are done.
// Every probe has its own timeout; `max_seconds` bounds the whole batch on top of that.
void run_probes(Engine& engine, size_t count, int max_seconds, Tally& tally,
                const StartProbe& start) {
  if (count == 0) {
    return;
  }
  EventLoop& loop = engine.loop();
  size_t finished = 0;
  EventLoop::TimerId watchdog = 0;
  watchdog = loop.add_timer(std::chrono::seconds(max_seconds), [&] {
    std::fprintf(stderr, "vantage-bench: %zu of %zu probes still running after %d s\n",
                 count - finished, count, max_seconds);
    std::fflush(stderr);
    std::_Exit(1);  // probes are still in flight; tearing them down cleanly is not the point
  });
  for (size_t i = 0; i < count; ++i) {
    engine.limiter().acquire([&, i] {
      start(i, [&](ProbeResult result) {
        tally.add(result);
        if (++finished == count) {
          loop.cancel_timer(watchdog);
        }
        engine.limiter().release();
      });
    });
  }
  loop.run();
  if (finished != count) {
    std::fprintf(stderr, "vantage-bench: the loop returned with %zu of %zu probes unfinished\n",
                 count - finished, count);
    std::exit(1);
  }
}

std::string cost_line(const Usage& before, const Usage& after, size_t probes) {
  const double user = after.user_s - before.user_s;
  const double sys = after.sys_s - before.sys_s;
  const double wall = std::chrono::duration<double>(after.wall - before.wall).count();
  return fmt::format(
      "cpu_s={:.4f} user_s={:.4f} sys_s={:.4f} wall_s={:.3f} cpu_ms_per_probe={:.4f}", user + sys,
      user, sys, wall, (user + sys) * 1000.0 / static_cast<double>(probes));
}

HttpRequest https_request(const Options& options, const Endpoint& address, std::string domain) {
  HttpRequest request;
  request.domain = std::move(domain);
  request.address = address;
  request.ca_file = options.ca_file;
  request.timeout = std::chrono::milliseconds(options.timeout_ms);
  return request;
}

// CPU per probe for one kind of probe, `count` times against the same address.
int bench_one_kind(const Options& options, const Endpoint& address) {
  EventLoop loop;
  Engine engine(loop, options.concurrency);
  const auto timeout = std::chrono::milliseconds(options.timeout_ms);
  StartProbe start;
  if (options.mode == "tcp") {
    start = [&](size_t, ProbeDone done) {
      vantage::probe_tcp_connect(loop, address, Check::Tcp, timeout, std::move(done));
    };
  } else {
    const HttpRequest request = https_request(options, address, options.domain);
    start = [&engine, request](size_t, ProbeDone done) {
      vantage::probe_http(engine.curl(), request, std::move(done));
    };
  }

  Tally warm;
  run_probes(engine, options.warmup, options.max_seconds, warm, start);
  Tally tally;
  const Usage before = usage_now();
  run_probes(engine, options.count, options.max_seconds, tally, start);
  const Usage after = usage_now();

  std::printf("probes=%zu %s warmup=%zu warmup_failed=%zu %s maxrss_kb=%ld rss_kb=%ld build=%s\n",
              options.count, tally.summary().c_str(), options.warmup, warm.failed,
              cost_line(before, after, options.count).c_str(), after.maxrss_kb, current_rss_kb(),
              kBuildType);
  if (!tally.first_failure.empty() || !warm.first_failure.empty()) {
    std::fprintf(stderr, "first failure: %s\n",
                 (tally.first_failure.empty() ? warm.first_failure : tally.first_failure).c_str());
  }
  return tally.ok > 0 ? 0 : 1;
}

// One target as an agent holds it: its name, its pinned address, its HTTPS request and the
// results of its last probes (kept until they are shipped).
struct Target {
  std::string domain;
  Endpoint address;
  HttpRequest https;
  std::vector<ProbeResult> results;
};

// Peak RSS with `targets` targets held at once, each probed with TCP and HTTPS through the
// engine's bound. Every probe is queued up front, as when a cycle starts for all targets at once.
int bench_rss(const Options& options, const Endpoint& address) {
  EventLoop loop;
  Engine engine(loop, options.concurrency);
  const auto timeout = std::chrono::milliseconds(options.timeout_ms);

  // Warm up the engine (OpenSSL, curl, the CA store) so that the baseline is the engine's.
  Tally warm;
  const HttpRequest warm_request = https_request(options, address, options.domain);
  run_probes(engine, options.warmup, options.max_seconds, warm, [&](size_t i, ProbeDone done) {
    if (i % 2 == 0) {
      vantage::probe_tcp_connect(loop, address, Check::Tcp, timeout, std::move(done));
    } else {
      vantage::probe_http(engine.curl(), warm_request, std::move(done));
    }
  });
  const long baseline_rss_kb = current_rss_kb();
  const long baseline_heap_kb = heap_in_use_kb();

  std::vector<Target> targets(options.targets);
  for (size_t i = 0; i < targets.size(); ++i) {
    Target& target = targets[i];
    target.domain = fmt::format("t{:05}.{}", i + 1, options.domain);
    target.address = address;
    target.https = https_request(options, address, target.domain);
    target.results.reserve(2);
  }

  Tally tally;
  const size_t probes = 2 * targets.size();
  const Usage before = usage_now();
  run_probes(engine, probes, options.max_seconds, tally, [&](size_t i, ProbeDone done) {
    Target& target = targets[i / 2];
    auto keep = [&target, done = std::move(done)](ProbeResult result) {
      target.results.push_back(result);
      done(std::move(result));
    };
    if (i % 2 == 0) {
      vantage::probe_tcp_connect(loop, target.address, Check::Tcp, timeout, std::move(keep));
    } else {
      vantage::probe_http(engine.curl(), target.https, std::move(keep));
    }
  });
  const Usage after = usage_now();

  size_t held = 0;
  for (const Target& target : targets) {
    held += target.results.size();
  }
  std::printf(
      "probes=%zu targets=%zu results_held=%zu %s warmup=%zu warmup_failed=%zu %s maxrss_kb=%ld "
      "rss_kb=%ld baseline_rss_kb=%ld heap_baseline_kb=%ld heap_held_kb=%ld build=%s\n",
      probes, targets.size(), held, tally.summary().c_str(), options.warmup, warm.failed,
      cost_line(before, after, probes).c_str(), after.maxrss_kb, current_rss_kb(), baseline_rss_kb,
      baseline_heap_kb, heap_in_use_kb(), kBuildType);
  if (!tally.first_failure.empty()) {
    std::fprintf(stderr, "first failure: %s\n", tally.first_failure.c_str());
  }
  return tally.ok > 0 ? 0 : 1;
}

// Runs `count` cycles at once (options from `make(i)`) and keeps each one's result in `held`;
// exits the process if they do not all finish within --max-seconds.
void run_at_once(EventLoop& loop, Engine& engine, const Options& options, size_t count,
                 std::vector<vantage::CycleResult>& held,
                 const std::function<vantage::CycleOptions(size_t)>& make) {
  held.resize(count);
  size_t finished = 0;
  const auto watchdog = loop.add_timer(std::chrono::seconds(options.max_seconds), [&] {
    std::fprintf(stderr, "vantage-bench: %zu of %zu cycles still running after %d s\n",
                 count - finished, count, options.max_seconds);
    std::fflush(stderr);
    std::_Exit(1);
  });
  for (size_t i = 0; i < count; ++i) {
    vantage::run_cycle(engine, make(i), [&, i](vantage::CycleResult result) {
      held[i] = std::move(result);
      if (++finished == count) {
        loop.cancel_timer(watchdog);
      }
    });
  }
  loop.run();
  if (finished != count) {
    std::fprintf(stderr, "vantage-bench: the loop returned with %zu of %zu cycles unfinished\n",
                 count - finished, count);
    std::exit(1);
  }
}

// Peak RSS with `targets` domains each run as a full cycle (run_cycle) at once, every CycleResult
// held. The DNS endpoint is meant to be a closed loopback port: every DNS probe is refused at
// once, as in an outage of the domains' DNS (the 2021 Facebook case), and each cycle goes on to
// probe TCP and HTTPS on the addresses it remembers from its last good cycle. So each cycle runs
// recursive A and AAAA, the parent walk, authoritative A and AAAA, TCP and HTTPS.
int bench_cycles(const Options& options, const Endpoint& address) {
  const std::optional<Endpoint> dns = vantage::parse_endpoint(options.dns, 53);
  if (!dns) {
    std::fprintf(stderr, "vantage-bench: cycles needs --dns ip:port\n");
    return 2;
  }
  EventLoop loop;
  Engine engine(loop, options.concurrency);

  auto cycle_options = [&](std::string domain) {
    vantage::CycleOptions cycle;
    cycle.domain = std::move(domain);
    cycle.resolvers = {*dns};
    cycle.port = address.port();
    cycle.ca_file = options.ca_file;
    cycle.timeout = std::chrono::milliseconds(options.timeout_ms);
    cycle.last_known.addresses = {address.ip()};
    cycle.last_known.nameservers = {{"ns1." + cycle.domain, {dns->to_string()}}};
    return cycle;
  };

  auto run_cycles = [&](size_t count, const std::string& suffix,
                        std::vector<vantage::CycleResult>& held) {
    run_at_once(loop, engine, options, count, held,
                [&](size_t i) { return cycle_options(fmt::format("t{:05}.{}", i + 1, suffix)); });
  };

  std::vector<vantage::CycleResult> warm;
  run_cycles(std::max<size_t>(1, options.warmup / 7), "warm." + options.domain, warm);
  warm.clear();
  warm.shrink_to_fit();
  const long baseline_rss_kb = current_rss_kb();
  const long baseline_heap_kb = heap_in_use_kb();

  std::vector<vantage::CycleResult> held;
  const Usage before = usage_now();
  run_cycles(options.targets, options.domain, held);
  const Usage after = usage_now();

  Tally tally;
  std::map<std::string, size_t> verdicts;
  for (const auto& cycle : held) {
    for (const auto& result : cycle.results) {
      tally.add(result);
    }
    ++verdicts[std::string(vantage::to_string(cycle.reading.verdict))];
  }
  std::string verdict_text;
  for (const auto& [name, n] : verdicts) {
    verdict_text += fmt::format("{}{}:{}", verdict_text.empty() ? "" : ",", name, n);
  }
  const size_t probes = tally.ok + tally.failed;
  // Failures are expected here (DNS is refused by design); what must succeed is TCP and HTTPS.
  std::printf(
      "cycles=%zu probes=%zu %s verdicts=%s %s cpu_ms_per_cycle=%.4f maxrss_kb=%ld rss_kb=%ld "
      "baseline_rss_kb=%ld heap_baseline_kb=%ld heap_held_kb=%ld build=%s\n",
      held.size(), probes, tally.summary().c_str(), verdict_text.c_str(),
      cost_line(before, after, probes).c_str(),
      (after.user_s - before.user_s + after.sys_s - before.sys_s) * 1000.0 /
          static_cast<double>(held.size()),
      after.maxrss_kb, current_rss_kb(), baseline_rss_kb, baseline_heap_kb, heap_in_use_kb(),
      kBuildType);
  return tally.tls13 == held.size() ? 0 : 1;
}

// "SERVER_DOWN:10,ROUTE_LOSS:2"
std::string verdict_counts(const std::vector<vantage::CycleResult>& cycles) {
  std::map<std::string, size_t> verdicts;
  for (const auto& cycle : cycles) {
    ++verdicts[std::string(vantage::to_string(cycle.reading.verdict))];
  }
  std::string text;
  for (const auto& [name, n] : verdicts) {
    text += fmt::format("{}{}:{}", text.empty() ? "" : ",", name, n);
  }
  return text;
}

// What silence costs. Two kinds of cycle, `targets` of each at once, both finding DNS refused (a
// closed port) and going on to the address they remember: one remembers `--loud`, which refuses
// the connection at once (SERVER_DOWN from the RST, nothing more to ask), the other `--address`,
// which is silent, so the cycle also asks whether the host answers anything and traces the path
// to it. The difference in CPU per cycle is the price of the evidence; the loud cycle runs the
// same code as a cycle did before evidence existed.
int bench_silence(const Options& options, const Endpoint& silent) {
  const std::optional<Endpoint> dns = vantage::parse_endpoint(options.dns, 53);
  const std::optional<Endpoint> loud = vantage::parse_endpoint(options.loud, 443);
  if (!dns || !loud) {
    std::fprintf(stderr, "vantage-bench: silence needs --dns ip:port and --loud ip:port\n");
    return 2;
  }
  EventLoop loop;
  Engine engine(loop, options.concurrency);
  auto measure = [&](const Endpoint& address, const std::string& kind) {
    std::vector<vantage::CycleResult> held;
    const Usage before = usage_now();
    run_at_once(loop, engine, options, options.targets, held, [&](size_t i) {
      vantage::CycleOptions cycle;
      cycle.domain = fmt::format("t{:05}.{}.{}", i + 1, kind, options.domain);
      cycle.resolvers = {*dns};
      cycle.port = address.port();
      cycle.timeout = std::chrono::milliseconds(options.timeout_ms);
      cycle.last_known.addresses = {address.ip()};
      cycle.last_known.nameservers = {{"ns1." + cycle.domain, {dns->to_string()}}};
      return cycle;
    });
    const Usage after = usage_now();
    size_t probes = 0;
    for (const auto& cycle : held) {
      probes += cycle.results.size();
    }
    const double cpu_ms = (after.user_s - before.user_s + after.sys_s - before.sys_s) * 1000.0 /
                          static_cast<double>(held.size());
    const double wall_s = std::chrono::duration<double>(after.wall - before.wall).count();
    std::printf(
        "%s_cycles=%zu %s_verdicts=%s %s_results_per_cycle=%.1f %s_cpu_ms_per_cycle=%.4f "
        "%s_wall_s=%.2f ",
        kind.c_str(), held.size(), kind.c_str(), verdict_counts(held).c_str(), kind.c_str(),
        static_cast<double>(probes) / static_cast<double>(held.size()), kind.c_str(), cpu_ms,
        kind.c_str(), wall_s);
    return cpu_ms;
  };
  std::vector<vantage::CycleResult> warm;
  run_at_once(loop, engine, options, std::max<size_t>(1, options.warmup / 7), warm, [&](size_t i) {
    vantage::CycleOptions cycle;
    cycle.domain = fmt::format("w{:05}.{}", i + 1, options.domain);
    cycle.resolvers = {*dns};
    cycle.port = loud->port();
    cycle.timeout = std::chrono::milliseconds(options.timeout_ms);
    cycle.last_known.addresses = {loud->ip()};
    return cycle;
  });
  const double loud_ms = measure(*loud, "loud");
  const double silent_ms = measure(silent, "silent");
  std::printf("extra_cpu_ms_per_silent_cycle=%.4f maxrss_kb=%ld build=%s\n", silent_ms - loud_ms,
              usage_now().maxrss_kb, kBuildType);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Runs probes through the Vantage engine and reports their CPU and memory cost."};
  app.add_option("mode", options.mode, "https, tcp, rss, cycles or silence")
      ->required()
      ->check(CLI::IsMember({"https", "tcp", "rss", "cycles", "silence"}));
  app.add_option("--address", options.address, "the server, ip:port (loopback)")->required();
  app.add_option("--domain", options.domain, "SNI/Host name; rss: the suffix of target names");
  app.add_option("--ca", options.ca_file, "CA file for the server's certificate");
  app.add_option("--count", options.count, "measured probes (https, tcp)")
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}));
  app.add_option("--warmup", options.warmup, "unmeasured probes first");
  app.add_option("--concurrency", options.concurrency, "the engine's bound on concurrent probes")
      ->check(CLI::Range(size_t{1}, size_t{100'000}));
  app.add_option("--dns", options.dns, "cycles: resolver and nameserver ip:port (a closed port)");
  app.add_option("--loud", options.loud, "silence: an ip:port that refuses connections");
  app.add_option("--targets", options.targets, "targets held (rss, cycles)")
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  app.add_option("--timeout-ms", options.timeout_ms, "per-probe timeout")
      ->check(CLI::Range(1, 600'000));
  app.add_option("--max-seconds", options.max_seconds, "bound on each batch of probes")
      ->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);

  const std::optional<Endpoint> address = vantage::parse_endpoint(options.address, 443);
  if (!address) {
    std::fprintf(stderr, "vantage-bench: --address %s is not an ip:port\n",
                 options.address.c_str());
    return 2;
  }
  if (options.mode == "rss") {
    return bench_rss(options, *address);
  }
  if (options.mode == "cycles") {
    return bench_cycles(options, *address);
  }
  if (options.mode == "silence") {
    return bench_silence(options, *address);
  }
  return bench_one_kind(options, *address);
}
