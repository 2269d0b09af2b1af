#include "duration.hh"

#include <fmt/format.h>

#include <charconv>

namespace vantage {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data()) {
    return std::nullopt;
  }
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  constexpr uint64_t kMaxMillis = 7ULL * 24 * 3600 * 1000;  // a week: anything more is a typo
  uint64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    return std::nullopt;
  }
  if (value > kMaxMillis / scale) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(value * scale);
}

std::optional<std::chrono::milliseconds> parse_period(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data()) {
    return std::nullopt;
  }
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  constexpr uint64_t kMinute = 60'000;
  constexpr uint64_t kDay = 24 * 60 * kMinute;
  constexpr uint64_t kMaxMillis = 3650 * kDay;
  uint64_t scale = 0;
  if (unit == "m") {
    scale = kMinute;
  } else if (unit == "h") {
    scale = 60 * kMinute;
  } else if (unit == "d") {
    scale = kDay;
  } else {
    return std::nullopt;
  }
  if (value > kMaxMillis / scale) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(value * scale);
}

std::string format_period(std::chrono::milliseconds period) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(period).count();
  if (minutes % (24 * 60) == 0) {
    return fmt::format("{}d", minutes / (24 * 60));
  }
  if (minutes % 60 == 0) {
    return fmt::format("{}h", minutes / 60);
  }
  return fmt::format("{}m", minutes);
}

std::string format_duration(std::chrono::microseconds duration) {
  const double millis = static_cast<double>(duration.count()) / 1000.0;
  if (millis < 1000.0) {
    return fmt::format("{:.1f} ms", millis);
  }
  return fmt::format("{:.2f} s", millis / 1000.0);
}

}  // namespace vantage
