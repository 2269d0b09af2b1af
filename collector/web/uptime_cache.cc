#include "uptime_cache.hh"

namespace vantage {

std::shared_ptr<const UptimeCache::Uptime> UptimeCache::all(TimePoint now) {
  std::lock_guard lock(mutex_);
  const bool fresh = read_at_ && now >= *read_at_ && now - *read_at_ <= max_age_;
  if (!fresh) {
    held_ = std::make_shared<const Uptime>(storage_.uptime("", now));
    read_at_ = now;
  }
  return held_;
}

}  // namespace vantage
