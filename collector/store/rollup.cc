#include "rollup.hh"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace vantage {
namespace {

using std::chrono::microseconds;

// Four buckets per power of two: bucket i holds latencies in [2^(i/4), 2^((i+1)/4)) µs.
constexpr double kBucketsPerDoubling = 4.0;

int bucket_of(microseconds latency) {
  const double us = std::max<double>(1.0, static_cast<double>(latency.count()));
  return static_cast<int>(std::floor(std::log2(us) * kBucketsPerDoubling));
}

microseconds bucket_upper_bound(int bucket) {
  return microseconds(
      static_cast<int64_t>(std::ceil(std::exp2((bucket + 1) / kBucketsPerDoubling))));
}

template <typename Number>
Number number_of(std::string_view text, std::string_view what) {
  Number value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw std::invalid_argument(fmt::format("{}: \"{}\" is not a number", what, text));
  }
  return value;
}

// The parts of `text` between `separator`s; none for "".
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    const size_t end = text.find(separator);
    parts.push_back(text.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
  return parts;
}

}  // namespace

std::string_view to_string(RollupSpan span) {
  return span == RollupSpan::Hour ? "hour" : "day";
}

std::chrono::milliseconds span_length(RollupSpan span) {
  return span == RollupSpan::Hour ? std::chrono::hours(1) : std::chrono::hours(24);
}

TimePoint span_start(RollupSpan span, TimePoint time) {
  const auto length = span_length(span);
  const auto since_epoch = std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch());
  return TimePoint(since_epoch / length * length);
}

TimePoint ended_by(RollupSpan span, TimePoint cutoff) {
  return cutoff - span_length(span) + std::chrono::milliseconds(1);
}

void LatencyHistogram::add(microseconds latency) {
  ++buckets_[bucket_of(latency)];
  ++count_;
  max_ = std::max(max_, latency);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (const auto& [bucket, count] : other.buckets_) {
    buckets_[bucket] += count;
  }
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::optional<microseconds> LatencyHistogram::quantile(double q) const {
  if (count_ == 0) {
    return std::nullopt;
  }
  // The rank of the q-th quantile, 1-based: the smallest with rank >= q * count.
  const auto rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (const auto& [bucket, count] : buckets_) {
    seen += count;
    if (seen >= rank) {
      return std::min(bucket_upper_bound(bucket), max_);
    }
  }
  return max_;
}

std::string LatencyHistogram::encode() const {
  if (count_ == 0) {
    return "";
  }
  std::string text = std::to_string(max_.count());
  for (const auto& [bucket, count] : buckets_) {
    fmt::format_to(std::back_inserter(text), " {}:{}", bucket, count);
  }
  return text;
}

LatencyHistogram LatencyHistogram::decode(std::string_view text) {
  LatencyHistogram histogram;
  const auto parts = split(text, ' ');
  if (parts.empty()) {
    return histogram;
  }
  histogram.max_ = microseconds(number_of<int64_t>(parts[0], "latency maximum"));
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t colon = parts[i].find(':');
    if (colon == std::string_view::npos) {
      throw std::invalid_argument(
          fmt::format("latency bucket \"{}\" is not index:count", parts[i]));
    }
    const int bucket = number_of<int>(parts[i].substr(0, colon), "latency bucket");
    const auto count = number_of<uint64_t>(parts[i].substr(colon + 1), "latency bucket count");
    if (count == 0 || !histogram.buckets_.emplace(bucket, count).second) {
      throw std::invalid_argument(
          fmt::format("latency bucket \"{}\" is empty or repeated", parts[i]));
    }
    histogram.count_ += count;
  }
  if (histogram.count_ == 0) {
    throw std::invalid_argument("a latency maximum without buckets");
  }
  return histogram;
}

std::string encode_check_latencies(const CheckLatencies& latencies) {
  if (std::none_of(latencies.begin(), latencies.end(),
                   [](const auto& latency) { return latency.has_value(); })) {
    return "";
  }
  std::string text;
  for (size_t check = 0; check < kTimedChecks; ++check) {
    if (check > 0) {
      text += ',';
    }
    if (latencies[check]) {
      text += std::to_string(latencies[check]->count());
    }
  }
  return text;
}

CheckLatencies decode_check_latencies(std::string_view text) {
  CheckLatencies latencies{};
  if (text.empty()) {
    return latencies;
  }
  const size_t fields = static_cast<size_t>(std::count(text.begin(), text.end(), ',')) + 1;
  constexpr size_t kBeforeHttp = static_cast<size_t>(Check::Http);
  if (fields != kTimedChecks && fields != kBeforeHttp) {
    throw std::invalid_argument(
        fmt::format("\"{}\" does not hold {} check latencies", text, kTimedChecks));
  }
  // split() drops a trailing empty part, which here is a check without a latency.
  for (size_t check = 0; check < fields; ++check) {
    const size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    if (!part.empty()) {
      const auto us = number_of<int64_t>(part, "check latency");
      if (us < 0) {
        throw std::invalid_argument(fmt::format("check latency: {} is negative", us));
      }
      latencies[check] = microseconds(us);
    }
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
  }
  return latencies;
}

TimePoint fold_before(TimePoint now) {
  const auto since_epoch = (now - kFoldDelay).time_since_epoch();
  return TimePoint(since_epoch - since_epoch % kFoldStep);
}

uint64_t RollupFigures::cycles() const {
  uint64_t total = 0;
  for (const uint64_t count : verdicts) {
    total += count;
  }
  return total;
}

void RollupFigures::add(Verdict verdict, const CheckLatencies& latencies) {
  ++verdicts[static_cast<size_t>(verdict)];
  for (size_t check = 0; check < kTimedChecks; ++check) {
    if (latencies[check]) {
      latency[check].add(*latencies[check]);
    }
  }
}

void RollupFigures::merge(const RollupFigures& other) {
  for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
    verdicts[verdict] += other.verdicts[verdict];
  }
  for (size_t check = 0; check < kTimedChecks; ++check) {
    latency[check].merge(other.latency[check]);
  }
}

std::string RollupFigures::encode_latency() const {
  std::string text;
  for (size_t check = 0; check < kTimedChecks; ++check) {
    if (latency[check].count() == 0) {
      continue;
    }
    if (!text.empty()) {
      text += ';';
    }
    fmt::format_to(std::back_inserter(text), "{} {}", to_string(static_cast<Check>(check)),
                   latency[check].encode());
  }
  return text;
}

void RollupFigures::decode_latency(std::string_view text) {
  for (const std::string_view part : split(text, ';')) {
    const size_t space = part.find(' ');
    const auto check = check_from_string(part.substr(0, space));
    if (!check || static_cast<size_t>(*check) >= kTimedChecks || space == std::string_view::npos) {
      throw std::invalid_argument(fmt::format("\"{}\" is not a timed check's latency", part));
    }
    latency[static_cast<size_t>(*check)] = LatencyHistogram::decode(part.substr(space + 1));
  }
}

void RollupDeltas::add(const std::string& domain, const std::string& agent, TimePoint started_at,
                       Verdict verdict, const CheckLatencies& latencies) {
  for (const RollupSpan span : {RollupSpan::Hour, RollupSpan::Day}) {
    by_key_[RollupKey{domain, agent, span, span_start(span, started_at)}].add(verdict, latencies);
  }
}

std::optional<double> UptimeCounts::ratio() const {
  if (up + down == 0) {
    return std::nullopt;
  }
  return static_cast<double>(up) / static_cast<double>(up + down);
}

UptimeCounts uptime_counts(const RollupFigures& figures) {
  const auto of = [&](Verdict verdict) { return figures.verdicts[static_cast<size_t>(verdict)]; };
  UptimeCounts counts;
  counts.up = of(Verdict::Ok) + of(Verdict::Degraded);
  counts.inconclusive = of(Verdict::Unknown) + of(Verdict::VantageIsolated);
  counts.down = figures.cycles() - counts.up - counts.inconclusive;
  return counts;
}

std::string_view to_string(UptimeWindow window) {
  switch (window) {
    case UptimeWindow::Day:
      return "24h";
    case UptimeWindow::Week:
      return "7d";
    case UptimeWindow::Month:
      return "30d";
    case UptimeWindow::Quarter:
      return "90d";
  }
  return "?";
}

RollupSpan window_span(UptimeWindow window) {
  return window == UptimeWindow::Day || window == UptimeWindow::Week ? RollupSpan::Hour
                                                                     : RollupSpan::Day;
}

TimePoint window_start(UptimeWindow window, TimePoint now) {
  const RollupSpan span = window_span(window);
  const int rollups = window == UptimeWindow::Day     ? 24
                      : window == UptimeWindow::Week  ? 7 * 24
                      : window == UptimeWindow::Month ? 30
                                                      : 90;
  return span_start(span, now) - (rollups - 1) * span_length(span);
}

}  // namespace vantage
