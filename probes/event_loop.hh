#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <vector>

namespace vantage {

// One epoll set and one timerfd: the only place this process waits. c-ares, curl multi and the
// plain-socket probes all register here, so thousands of probes share one thread.
class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using IoCallback = std::function<void(uint32_t events)>;
  using TimerId = uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Adds `fd` or changes its interest set (EPOLLIN/EPOLLOUT). EPOLLERR and EPOLLHUP are always
  // reported, because a socket error must reach the library that owns the socket.
  void watch(int fd, uint32_t events, IoCallback callback);
  void unwatch(int fd);

  TimerId add_timer(Clock::time_point when, std::function<void()> callback);
  TimerId add_timer(std::chrono::nanoseconds delay, std::function<void()> callback) {
    return add_timer(Clock::now() + delay, std::move(callback));
  }
  void cancel_timer(TimerId id);

  // Runs `callback` on the loop after the current callback returns; for work that must not run
  // inside a C library's callback (destroying the channel that is calling us, for example).
  void post(std::function<void()> callback);

  // Runs until nothing is watched, timed or posted, or until stop(). Not re-entrant.
  void run();
  void stop() { stopping_ = true; }

 private:
  void arm_timerfd();
  void run_due_timers();
  void run_posted();
  bool idle() const;

  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  bool running_ = false;
  bool stopping_ = false;
  TimerId next_timer_id_ = 1;
  std::unordered_map<int, IoCallback> watchers_;
  std::multimap<Clock::time_point, TimerId> timers_by_deadline_;
  std::unordered_map<TimerId, std::pair<Clock::time_point, std::function<void()>>> timers_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace vantage
