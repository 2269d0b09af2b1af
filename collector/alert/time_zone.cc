#include "time_zone.hh"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace vantage {
namespace {

constexpr const char* kZoneDirectory = "/usr/share/zoneinfo/";
constexpr size_t kHeaderBytes = 44;

// Zone names are letters, digits, '_', '-', '+' and '/' between parts; never "." or "..".
bool safe_zone_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') {
    return false;
  }
  for (const char c : name) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '+' || c == '/';
    if (!allowed) {
      return false;
    }
  }
  return name.find("//") == std::string::npos;
}

// Big-endian integers of a TZif file.
int64_t read_be(const std::string& data, size_t at, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) {
    value = (value << 8) | static_cast<unsigned char>(data[at + i]);
  }
  if (bytes == 4) {
    return static_cast<int32_t>(static_cast<uint32_t>(value));
  }
  return static_cast<int64_t>(value);
}

struct Counts {
  size_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

std::optional<Counts> read_header(const std::string& data, size_t at) {
  if (data.size() < at + kHeaderBytes || data.compare(at, 4, "TZif") != 0) {
    return std::nullopt;
  }
  const auto count = [&](size_t index) {
    return static_cast<size_t>(read_be(data, at + 20 + 4 * index, 4));
  };
  return Counts{count(0), count(1), count(2), count(3), count(4), count(5)};
}

}  // namespace

TimeZone TimeZone::utc() {
  TimeZone zone;
  zone.name_ = "UTC";
  return zone;
}

std::optional<TimeZone> TimeZone::load(const std::string& name) {
  if (name == "UTC") {
    return utc();
  }
  if (!safe_zone_name(name)) {
    return std::nullopt;
  }
  std::ifstream file(kZoneDirectory + name, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto first = read_header(data, 0);
  if (!first || data[4] < '2') {
    return std::nullopt;  // version 1 files have 32-bit times only; tzdata has shipped 2+ since
                          // 2005
  }
  // Skip the 32-bit block to the 64-bit one, which has the same layout with 8-byte times.
  const size_t v1_bytes = first->timecnt * 5 + first->typecnt * 6 + first->charcnt +
                          first->leapcnt * 8 + first->isstdcnt + first->isutcnt;
  const size_t at = kHeaderBytes + v1_bytes;
  const auto counts = read_header(data, at);
  if (!counts || counts->typecnt == 0) {
    return std::nullopt;
  }
  const size_t times = at + kHeaderBytes;
  const size_t indexes = times + counts->timecnt * 8;
  const size_t types = indexes + counts->timecnt;
  if (data.size() < types + counts->typecnt * 6) {
    return std::nullopt;
  }
  const auto type_offset = [&](size_t type) {
    return static_cast<int32_t>(read_be(data, types + type * 6, 4));
  };
  TimeZone zone;
  zone.name_ = name;
  zone.initial_offset_ = type_offset(0);
  for (size_t i = 0; i < counts->timecnt; ++i) {
    const auto type = static_cast<unsigned char>(data[indexes + i]);
    if (type >= counts->typecnt) {
      return std::nullopt;
    }
    zone.transitions_.push_back({read_be(data, times + i * 8, 8), type_offset(type)});
  }
  return zone;
}

std::chrono::seconds TimeZone::offset_at(TimePoint instant) const {
  const int64_t seconds =
      std::chrono::floor<std::chrono::seconds>(instant.time_since_epoch()).count();
  const auto after = std::upper_bound(
      transitions_.begin(), transitions_.end(), seconds,
      [](int64_t value, const Transition& transition) { return value < transition.at; });
  return std::chrono::seconds(after == transitions_.begin() ? initial_offset_
                                                            : std::prev(after)->offset);
}

TimePoint TimeZone::to_instant(std::chrono::sys_seconds local) const {
  // Offsets are within a day of UTC, so the candidates are the offsets in force a day either
  // side; the earliest that reads back as this local time wins.
  const TimePoint as_utc(local.time_since_epoch());
  const auto before = offset_at(as_utc - std::chrono::hours(24));
  const auto after = offset_at(as_utc + std::chrono::hours(24));
  std::optional<TimePoint> best;
  for (const auto offset : {before, after}) {
    const TimePoint candidate = as_utc - offset;
    if (offset_at(candidate) == offset && (!best || candidate < *best)) {
      best = candidate;
    }
  }
  return best.value_or(as_utc - before);
}

std::chrono::sys_seconds TimeZone::to_local(TimePoint instant) const {
  return std::chrono::floor<std::chrono::seconds>(instant) + offset_at(instant);
}

}  // namespace vantage
