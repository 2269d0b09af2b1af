#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

namespace vantage::storage_detail {

// Group commit: a commit costs an fsync (and on PostgreSQL a few round trips) however many rows
// it holds, and a backend has one writer. Uploads that arrive while a group is written wait, and
// the first of them to wake writes all that waited in one transaction. Each caller still learns
// its own outcome, and only after the commit that made it durable.
//
// `Pending` is a caller's share of a group: its input, and `error` (std::exception_ptr) for what
// the writer found.
template <typename Pending>
class GroupCommit {
 public:
  // Queues `mine` and returns once a call of `write(group)`, on this thread or another's, has
  // written a group holding it. `write` sets each one's outcome or error; should it throw, every
  // one of its group without an error gets the exception.
  template <typename Write>
  void submit(Pending& mine, Write&& write) {
    Waiting waiting{.pending = &mine};
    std::unique_lock lock(mutex_);
    waiting_.push_back(&waiting);
    while (!waiting.done) {
      if (writing_) {
        done_.wait(lock);
        continue;
      }
      writing_ = true;
      const std::vector<Waiting*> taken = std::exchange(waiting_, {});
      lock.unlock();
      write_group(taken, write);
      lock.lock();
      for (Waiting* written : taken) {
        written->done = true;
      }
      writing_ = false;
      done_.notify_all();
    }
  }

 private:
  struct Waiting {
    Pending* pending = nullptr;
    bool done = false;  // guarded by mutex_
  };

  template <typename Write>
  static void write_group(const std::vector<Waiting*>& taken, Write& write) {
    std::vector<Pending*> group;
    group.reserve(taken.size());
    for (const Waiting* waiting : taken) {
      group.push_back(waiting->pending);
    }
    try {
      write(group);
    } catch (...) {
      for (Pending* pending : group) {
        if (!pending->error) {
          pending->error = std::current_exception();
        }
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<Waiting*> waiting_;  // guarded by mutex_
  bool writing_ = false;           // guarded by mutex_
};

}  // namespace vantage::storage_detail
