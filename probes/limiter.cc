#include "limiter.hh"

namespace vantage {

void Limiter::acquire(std::function<void()> start) {
  if (running_ < max_running_) {
    ++running_;
    start();
    return;
  }
  waiting_.push_back(std::move(start));
}

void Limiter::release() {
  if (!waiting_.empty()) {
    auto next = std::move(waiting_.front());
    waiting_.pop_front();
    next();  // the slot passes straight to the next probe
    return;
  }
  if (running_ > 0) {
    --running_;
  }
}

}  // namespace vantage
