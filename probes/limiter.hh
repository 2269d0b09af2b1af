#pragma once

#include <cstddef>
#include <deque>
#include <functional>

namespace vantage {

// Bounds how many probes run at once across all cycles: a probe asks for a slot and starts when
// one is free; it gives the slot back when it is done.
class Limiter {
 public:
  explicit Limiter(size_t max_running) : max_running_(max_running == 0 ? 1 : max_running) {}

  // Runs `start` now if a slot is free, else queues it (first come, first served).
  void acquire(std::function<void()> start);
  void release();

 private:
  size_t max_running_;
  size_t running_ = 0;
  std::deque<std::function<void()>> waiting_;
};

}  // namespace vantage
