#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

#include "collector_client.hh"
#include "event_loop.hh"
#include "spool.hh"

namespace vantage {

// Delivers the spool to the collector, oldest first, one batch in flight: acknowledged results are
// deleted; a batch the collector finds too large is halved; one it refuses (400, 409, 413, 422)
// is narrowed down to single results, and a single result it refuses is set aside in the spool's
// rejected/ so that it never holds up the ones after it; anything else (no answer, 5xx, 429) is
// retried with exponential backoff and full jitter. A refused token (401) keeps every result in
// the spool, retried the same way, until the agent is given a valid one.
class Uploader {
 public:
  Uploader(EventLoop& loop, Spool& spool, CollectorClient& client, std::string agent,
           uint64_t epoch);

  // Sends the next batch unless one is in flight, a retry is waiting, or the spool is empty.
  void upload();
  // Sends the next batch now, without waiting out a retry's backoff (a new collector URL or
  // token on reload).
  void retry_now();

 private:
  void on_reply(uint64_t first_seq, uint64_t last_seq, size_t count, const HttpReply& reply);
  void back_off(const HttpReply& reply);

  EventLoop& loop_;
  Spool& spool_;
  CollectorClient& client_;
  std::string agent_;
  uint64_t epoch_;
  std::mt19937_64 random_;
  size_t batch_size_;
  uint32_t failures_ = 0;
  bool uploading_ = false;
  bool token_refused_ = false;  // said once at error level; quiet until an upload succeeds
  EventLoop::TimerId backoff_timer_ = 0;
};

}  // namespace vantage
