#include "event_loop.hh"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace vantage {
namespace {

constexpr int kMaxEventsPerWait = 256;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

EventLoop::EventLoop() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    throw_errno("epoll_create1");
  }
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) {
    close(epoll_fd_);
    throw_errno("timerfd_create");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = timer_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &event) < 0) {
    close(timer_fd_);
    close(epoll_fd_);
    throw_errno("epoll_ctl(timerfd)");
  }
}

EventLoop::~EventLoop() {
  close(timer_fd_);
  close(epoll_fd_);
}

void EventLoop::watch(int fd, uint32_t events, IoCallback callback) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  const bool known = watchers_.contains(fd);
  if (epoll_ctl(epoll_fd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event) < 0) {
    throw_errno("epoll_ctl");
  }
  watchers_[fd] = std::move(callback);
}

void EventLoop::unwatch(int fd) {
  if (watchers_.erase(fd) > 0) {
    // The fd may already be closed by the library that owned it; epoll forgot it then.
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  }
}

EventLoop::TimerId EventLoop::add_timer(Clock::time_point when, std::function<void()> callback) {
  const TimerId id = next_timer_id_++;
  timers_.emplace(id, std::make_pair(when, std::move(callback)));
  const bool earliest = timers_by_deadline_.empty() || when < timers_by_deadline_.begin()->first;
  timers_by_deadline_.emplace(when, id);
  if (earliest) {
    arm_timerfd();
  }
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  const auto found = timers_.find(id);
  if (found == timers_.end()) {
    return;
  }
  auto [first, last] = timers_by_deadline_.equal_range(found->second.first);
  for (auto it = first; it != last; ++it) {
    if (it->second == id) {
      timers_by_deadline_.erase(it);
      break;
    }
  }
  timers_.erase(found);
  // The timerfd may now fire early; run_due_timers() then finds nothing due and re-arms.
}

void EventLoop::post(std::function<void()> callback) {
  posted_.push_back(std::move(callback));
}

void EventLoop::arm_timerfd() {
  itimerspec spec{};
  if (!timers_by_deadline_.empty()) {
    const auto delay = timers_by_deadline_.begin()->first - Clock::now();
    // A zero it_value would disarm the timer; a due timer is armed 1 ns ahead instead so that it
    // fires on the next wait.
    const auto ns =
        std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count());
    spec.it_value.tv_sec = ns / 1'000'000'000;
    spec.it_value.tv_nsec = ns % 1'000'000'000;
  }
  timerfd_settime(timer_fd_, 0, &spec, nullptr);
}

void EventLoop::run_due_timers() {
  uint64_t expirations = 0;
  while (read(timer_fd_, &expirations, sizeof expirations) > 0) {
  }
  // Timers added by callbacks while this runs are due at the earliest on the next turn, so a
  // callback that re-arms itself for "now" cannot starve the sockets.
  const auto now = Clock::now();
  std::vector<TimerId> due;
  for (auto it = timers_by_deadline_.begin(); it != timers_by_deadline_.end() && it->first <= now;
       ++it) {
    due.push_back(it->second);
  }
  for (const TimerId id : due) {
    const auto found = timers_.find(id);
    if (found == timers_.end()) {
      continue;  // cancelled by an earlier callback in this batch
    }
    auto callback = std::move(found->second.second);
    cancel_timer(id);
    callback();
  }
  arm_timerfd();
}

void EventLoop::run_posted() {
  while (!posted_.empty()) {
    auto batch = std::move(posted_);
    posted_.clear();
    for (auto& callback : batch) {
      callback();
    }
  }
}

bool EventLoop::idle() const {
  return watchers_.empty() && timers_.empty() && posted_.empty();
}

void EventLoop::run() {
  if (running_) {
    throw std::logic_error("EventLoop::run() re-entered");
  }
  running_ = true;
  stopping_ = false;
  epoll_event events[kMaxEventsPerWait];
  while (!stopping_) {
    run_posted();
    if (idle() || stopping_) {
      break;
    }
    const int count = epoll_wait(epoll_fd_, events, kMaxEventsPerWait, -1);
    if (count < 0) {
      if (errno == EINTR) {
        continue;
      }
      running_ = false;
      throw_errno("epoll_wait");
    }
    bool timer_fired = false;
    for (int i = 0; i < count; ++i) {
      const int fd = events[i].data.fd;
      if (fd == timer_fd_) {
        timer_fired = true;
        continue;
      }
      // Looked up per event: an earlier callback in this batch may have unwatched this fd.
      const auto found = watchers_.find(fd);
      if (found == watchers_.end()) {
        continue;
      }
      auto callback = found->second;  // copy: the callback may unwatch or re-watch its own fd
      callback(events[i].events);
    }
    if (timer_fired) {
      run_due_timers();
    }
  }
  running_ = false;
}

}  // namespace vantage
