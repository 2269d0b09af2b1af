#include <unistd.h>

#include <catch2/catch.hpp>

#include "event_loop.hh"

using namespace vantage;
using namespace std::chrono_literals;

TEST_CASE("timers fire in deadline order and run() returns when nothing is left", "[loop]") {
  EventLoop loop;
  std::vector<int> fired;
  loop.add_timer(30ms, [&] { fired.push_back(3); });
  loop.add_timer(10ms, [&] { fired.push_back(1); });
  loop.add_timer(20ms, [&] { fired.push_back(2); });
  loop.run();
  CHECK(fired == std::vector<int>{1, 2, 3});
}

TEST_CASE("a cancelled timer never fires", "[loop]") {
  EventLoop loop;
  bool fired = false;
  const auto id = loop.add_timer(10ms, [&] { fired = true; });
  loop.add_timer(20ms, [] {});
  loop.cancel_timer(id);
  loop.run();
  CHECK_FALSE(fired);
}

TEST_CASE("posted work runs after the current callback, not inside it", "[loop]") {
  EventLoop loop;
  std::vector<std::string> order;
  loop.add_timer(0ms, [&] {
    loop.post([&] { order.push_back("posted"); });
    order.push_back("timer");
  });
  loop.run();
  CHECK(order == std::vector<std::string>{"timer", "posted"});
}

TEST_CASE("a socket becoming readable calls its watcher", "[loop]") {
  EventLoop loop;
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::string seen;
  loop.watch(fds[0], EPOLLIN, [&](uint32_t) {
    char buffer[8] = {};
    seen.assign(buffer, static_cast<size_t>(read(fds[0], buffer, sizeof buffer)));
    loop.unwatch(fds[0]);
  });
  loop.add_timer(5ms, [&] { REQUIRE(write(fds[1], "hi", 2) == 2); });
  loop.run();
  close(fds[0]);
  close(fds[1]);
  CHECK(seen == "hi");
}

TEST_CASE("re-entering run() from a callback is refused", "[loop]") {
  EventLoop loop;
  bool threw = false;
  loop.add_timer(0ms, [&] {
    try {
      loop.run();
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  loop.run();
  CHECK(threw);
}
