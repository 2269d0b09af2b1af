#include "api_rate_limit.hh"

#include <algorithm>

namespace vantage {

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

}  // namespace vantage
