#include "duration.hh"

#include <fmt/format.h>

#include <array>
#include <charconv>

namespace vantage {

namespace {

constexpr uint64_t kSecond = 1000;
constexpr uint64_t kMinute = 60 * kSecond;
constexpr uint64_t kHour = 60 * kMinute;
constexpr uint64_t kDay = 24 * kHour;

struct Unit {
  std::string_view name;
  uint64_t millis;
};

// One whole number and one of `units`, at most `max_millis`; nullopt for anything else.
template <size_t N>
std::optional<std::chrono::milliseconds> parse_with_units(std::string_view text,
                                                          const std::array<Unit, N>& units,
                                                          uint64_t max_millis) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data()) {
    return std::nullopt;
  }
  const std::string_view name(end, static_cast<size_t>(text.data() + text.size() - end));
  for (const Unit& unit : units) {
    if (unit.name == name) {
      if (value > max_millis / unit.millis) {
        return std::nullopt;
      }
      return std::chrono::milliseconds(value * unit.millis);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  constexpr std::array<Unit, 4> kUnits = {
      {{"ms", 1}, {"s", kSecond}, {"m", kMinute}, {"h", kHour}}};
  return parse_with_units(text, kUnits, 7 * kDay);  // a week: anything more is a typo
}

std::optional<std::chrono::milliseconds> parse_period(std::string_view text) {
  constexpr std::array<Unit, 3> kUnits = {{{"m", kMinute}, {"h", kHour}, {"d", kDay}}};
  return parse_with_units(text, kUnits, 3650 * kDay);
}

std::string format_period(std::chrono::milliseconds period) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(period).count();
  constexpr int64_t kMinutesPerDay = int64_t{24} * 60;
  if (minutes % kMinutesPerDay == 0) {
    return fmt::format("{}d", minutes / kMinutesPerDay);
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
