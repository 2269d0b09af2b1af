#pragma once

#include <curl/curl.h>

#include <functional>

#include "event_loop.hh"

namespace vantage {

// One curl multi handle driven by the loop through curl's socket and timer callbacks
// (the shape of curl's docs/examples/ephiperfifo.c). Must be destroyed before the loop: curl
// calls the socket callback from curl_multi_cleanup.
class CurlMulti {
 public:
  using Completion = std::function<void(CURLcode)>;

  explicit CurlMulti(EventLoop& loop);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Starts `easy`; `on_done` runs on the loop once the transfer ended, after the handle was
  // removed from the multi handle. The caller keeps owning `easy`.
  void add(CURL* easy, Completion on_done);

  EventLoop& loop() { return loop_; }

 private:
  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_data);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  void action(curl_socket_t fd, int flags);
  void collect_finished();

  EventLoop& loop_;
  CURLM* multi_ = nullptr;
  EventLoop::TimerId timer_ = 0;
};

}  // namespace vantage
