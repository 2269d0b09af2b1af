#include "api_rate_limit.hh"

#include <algorithm>

namespace vantage {
namespace {

// Not a peer address nor an event name, so it cannot collide with a real key.
const std::string kOverflowKey = "\n(other)";

}  // namespace

bool RateLimiter::allow(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto [entry, created] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& bucket = entry->second;
  if (!created && now > bucket.last) {
    const std::chrono::duration<double> elapsed = now - bucket.last;
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed.count() * per_second_);
    bucket.last = now;
  }
  if (bucket.tokens < 1) {
    return false;
  }
  bucket.tokens -= 1;
  return true;
}

std::optional<uint64_t> LogThrottle::admit(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = windows_.find(key);
  if (found == windows_.end()) {
    if (windows_.size() >= max_keys_) {
      // An expired key's held-back count is dropped with it; the metrics still have them all.
      std::erase_if(windows_,
                    [&](const auto& entry) { return now - entry.second.start >= interval_; });
    }
    // Still full: every new key shares the one kept for the overflow.
    const std::string& slot = windows_.size() >= max_keys_ ? kOverflowKey : key;
    found = windows_.try_emplace(slot, Window{now, 0, 0}).first;
  }
  Window& window = found->second;
  if (now - window.start >= interval_) {
    const uint64_t held_back = window.held_back;
    window = Window{now, 1, 0};
    return held_back;
  }
  if (window.logged < burst_) {
    ++window.logged;
    return uint64_t{0};
  }
  ++window.held_back;
  return std::nullopt;
}

}  // namespace vantage
