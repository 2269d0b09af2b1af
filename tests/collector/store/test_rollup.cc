// Rollup figures as values: histograms, their quantiles and their columns' text.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <stdexcept>

#include "rollup.hh"

namespace vantage {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

}  // namespace

TEST_CASE("a latency quantile is never below the exact one, nor more than one bucket above",
          "[unit][rollup]") {
  std::mt19937 random(7);
  std::vector<int64_t> samples;
  LatencyHistogram histogram;
  for (int i = 0; i < 5000; ++i) {
    // 1 ms to about 3 s, spread over several powers of two.
    const int64_t us = 1000 + static_cast<int64_t>(random() % 3'000'000);
    samples.push_back(us);
    histogram.add(microseconds(us));
  }
  std::sort(samples.begin(), samples.end());
  for (const double q : {0.5, 0.9, 0.95, 0.99, 1.0}) {
    INFO("q " << q);
    const auto exact = samples[static_cast<size_t>(std::ceil(q * samples.size())) - 1];
    const auto estimate = histogram.quantile(q)->count();
    CHECK(estimate >= exact);
    CHECK(static_cast<double>(estimate) <= static_cast<double>(exact) * 1.19 + 1);
  }
  CHECK(histogram.quantile(1.0) == histogram.max());
  CHECK(histogram.max() == microseconds(samples.back()));
  CHECK(histogram.count() == 5000);
  CHECK(!LatencyHistogram().quantile(0.5));
}

TEST_CASE("histograms of many hours merge into the histogram of all their samples",
          "[unit][rollup]") {
  LatencyHistogram whole;
  LatencyHistogram first;
  LatencyHistogram second;
  for (int i = 1; i <= 200; ++i) {
    const microseconds latency(i * 997);
    whole.add(latency);
    (i % 3 == 0 ? first : second).add(latency);
  }
  first.merge(second);
  CHECK(first == whole);
}

TEST_CASE("rollup columns read back as written, and text the collector never writes is refused",
          "[unit][rollup]") {
  RollupFigures figures;
  CheckLatencies latencies{};
  latencies[static_cast<size_t>(Check::Https)] = milliseconds(140);
  latencies[static_cast<size_t>(Check::DnsRecursive)] = microseconds(900);
  figures.add(Verdict::Ok, latencies);
  figures.add(Verdict::ServerDown, CheckLatencies{});
  CHECK(figures.cycles() == 2);
  const std::string text = figures.encode_latency();
  CHECK(text.rfind("DnsRecursive 900 ", 0) == 0);
  CHECK(text.find(";Https 140000 ") != std::string::npos);
  RollupFigures read;
  read.decode_latency(text);
  CHECK(read.latency == figures.latency);

  for (const char* bad :
       {"Tcp", "Tcp x 1:1", "Tcp 5 1:0", "Tcp 5 1:1 1:2", "Path 5 1:1", "Nope 5 1:1", "Tcp 5 1"}) {
    INFO(bad);
    RollupFigures refused;
    CHECK_THROWS_AS(refused.decode_latency(bad), std::invalid_argument);
  }
}

TEST_CASE("a rollup starts at the hour or UTC day of its results; windows are whole rollups",
          "[unit][rollup]") {
  // 2026-11-02T13:45:10.250Z
  const TimePoint time{milliseconds(1'793'627'110'250)};
  CHECK(span_start(RollupSpan::Hour, time) == TimePoint{milliseconds(1'793'624'400'000)});
  CHECK(span_start(RollupSpan::Day, time) == TimePoint{milliseconds(1'793'577'600'000)});
  // 24h: this hour and the 23 before; 90d: today and the 89 days before.
  CHECK(window_start(UptimeWindow::Day, time) ==
        span_start(RollupSpan::Hour, time) - std::chrono::hours(23));
  CHECK(window_start(UptimeWindow::Quarter, time) ==
        span_start(RollupSpan::Day, time) - std::chrono::hours(24 * 89));
  // A rollup that ends at the cutoff goes with it; one that ends after stays.
  const TimePoint cutoff = span_start(RollupSpan::Hour, time);
  CHECK(cutoff - std::chrono::hours(1) < ended_by(RollupSpan::Hour, cutoff));
  CHECK(!(cutoff - std::chrono::hours(1) + milliseconds(1) < ended_by(RollupSpan::Hour, cutoff)));
}

TEST_CASE("uptime leaves out what a vantage could not judge, and has no ratio without cycles",
          "[unit][rollup]") {
  RollupFigures figures;
  for (const Verdict verdict : {Verdict::Ok, Verdict::Degraded, Verdict::DnsFailure,
                                Verdict::Unknown, Verdict::VantageIsolated}) {
    figures.add(verdict, CheckLatencies{});
  }
  const UptimeCounts counts = uptime_counts(figures);
  CHECK(counts == UptimeCounts{.up = 2, .down = 1, .inconclusive = 2});
  CHECK(*counts.ratio() == Approx(2.0 / 3.0));
  CHECK(!UptimeCounts{}.ratio());
}

TEST_CASE("a result's latencies read back as its row keeps them until the fold",
          "[unit][rollup][fold]") {
  CheckLatencies latencies{};
  CHECK(encode_check_latencies(latencies).empty());
  CHECK(decode_check_latencies("") == latencies);
  latencies[static_cast<size_t>(Check::Tcp)] = microseconds(12'034);
  latencies[static_cast<size_t>(Check::Https)] = microseconds(91'002);
  const std::string text = encode_check_latencies(latencies);
  CHECK(std::count(text.begin(), text.end(), ',') == static_cast<long>(kTimedChecks) - 1);
  CHECK(decode_check_latencies(text) == latencies);
  // The last check empty: a trailing comma is a check without a latency, not a missing one.
  CheckLatencies first_only{};
  first_only[0] = microseconds(5);
  CHECK(decode_check_latencies(encode_check_latencies(first_only)) == first_only);
  // Rows written before http targets hold no Http field.
  CheckLatencies before_http{};
  before_http[static_cast<size_t>(Check::Tcp)] = microseconds(12'034);
  before_http[static_cast<size_t>(Check::Https)] = microseconds(91'002);
  CHECK(decode_check_latencies(",,,12034,91002") == before_http);
  for (const std::string bad : {"1", "1,2,3,4,5,6,7,8,9", "x,,,,", "-5,,,,", "1,2,,,,,,"}) {
    CHECK_THROWS_AS(decode_check_latencies(bad), std::invalid_argument);
  }
}

TEST_CASE("the fold passes whole ten-minute steps, a minute after each ended",
          "[unit][rollup][fold]") {
  // 2026-11-02T00:00:00Z and later.
  const TimePoint midnight{milliseconds(1'793'577'600'000)};
  CHECK(fold_before(midnight + std::chrono::minutes(10) + std::chrono::seconds(59)) == midnight);
  CHECK(fold_before(midnight + std::chrono::minutes(11)) == midnight + std::chrono::minutes(10));
  CHECK(fold_before(midnight + std::chrono::minutes(21)) == midnight + std::chrono::minutes(20));
}

}  // namespace vantage
