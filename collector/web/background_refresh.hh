#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "storage.hh"

namespace vantage {

// A value read from the store at most once per `max_age`. Once it is older (or the clock went
// back), callers get the value held at once while one background read replaces it: a read of a
// fleet's rollups takes seconds (bench/web: about 5 s for 1,000 domains × 20 vantages with 90 days
// of rollups on SQLite), and no page should wait for it. Only callers that find nothing held yet,
// right after start, wait for a read; if that read fails, they get its error.
template <typename T>
class BackgroundRefresh {
 public:
  using Read = std::function<T(TimePoint now)>;

  // `what` names the value in the log line of a failed read.
  BackgroundRefresh(std::string what, std::chrono::milliseconds max_age, Read read)
      : what_(std::move(what)), max_age_(max_age), read_(std::move(read)) {}
  ~BackgroundRefresh() { settle(); }
  BackgroundRefresh(const BackgroundRefresh&) = delete;
  BackgroundRefresh& operator=(const BackgroundRefresh&) = delete;

  std::shared_ptr<const T> get(TimePoint now) {
    std::unique_lock lock(mutex_);
    const bool fresh = read_at_ && now >= *read_at_ && now - *read_at_ <= max_age_;
    if (!fresh && !reading_) {
      start_read(now);
    }
    if (!held_) {
      settled_.wait(lock, [&] { return !reading_; });
      if (!held_) {
        std::rethrow_exception(failure_);
      }
    }
    return held_;
  }

  // Waits for a read in progress, if any.
  void settle() {
    std::unique_lock lock(mutex_);
    settled_.wait(lock, [&] { return !reading_; });
    if (reader_.joinable()) {
      reader_.join();
    }
  }

 private:
  // mutex_ held, no read in progress.
  void start_read(TimePoint now) {
    if (reader_.joinable()) {
      // It has set reading_ to false and touches nothing more: the join cannot wait for us.
      reader_.join();
    }
    reading_ = true;
    reader_ = std::thread([this, now] {
      std::shared_ptr<const T> value;
      std::exception_ptr failure;
      try {
        value = std::make_shared<const T>(read_(now));
      } catch (const std::exception& error) {
        spdlog::warn("{}: reading it failed, still showing the last figures read: {}", what_,
                     error.what());
        failure = std::current_exception();
      } catch (...) {
        spdlog::warn("{}: reading it failed, still showing the last figures read", what_);
        failure = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        if (value) {
          held_ = std::move(value);
          read_at_ = now;
        } else {
          failure_ = failure;
        }
        reading_ = false;
      }
      settled_.notify_all();
    });
  }

  const std::string what_;
  const std::chrono::milliseconds max_age_;
  const Read read_;
  std::mutex mutex_;
  std::condition_variable settled_;
  bool reading_ = false;  // guarded by mutex_
  std::optional<TimePoint> read_at_;
  std::shared_ptr<const T> held_;
  std::exception_ptr failure_;
  std::thread reader_;
};

}  // namespace vantage
