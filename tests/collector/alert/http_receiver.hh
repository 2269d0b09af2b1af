#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vantage::testing {

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// A tiny HTTP/1.1 server on 127.0.0.1, port chosen by the kernel, standing in for a webhook,
// Slack or Alertmanager: it records every request and answers each with the status that
// `status_for(index of the request from 0, the request)` gives, then closes the connection.
class HttpReceiver {
 public:
  using StatusFor = std::function<int(size_t index, const ReceivedRequest& request)>;

  // `port` 0: one the kernel picks; else that one (a receiver coming back where it was).
  explicit HttpReceiver(
      StatusFor status_for = [](size_t, const ReceivedRequest&) { return 200; }, uint16_t port = 0);
  ~HttpReceiver();
  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/") const;
  std::vector<ReceivedRequest> requests() const;
  // True once at least `count` requests came, within a bounded wait.
  bool wait_for_requests(size_t count, std::chrono::milliseconds limit = std::chrono::seconds(10));

 private:
  void serve();
  void handle(int connection);

  StatusFor status_for_;
  int listener_ = -1;
  int stop_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

// Listens on 127.0.0.1 but never accepts nor answers: the kernel completes the handshake, so a
// client sends its request and waits for a reply that never comes, as with a hung receiver.
class SilentReceiver {
 public:
  SilentReceiver();
  ~SilentReceiver();
  SilentReceiver(const SilentReceiver&) = delete;
  SilentReceiver& operator=(const SilentReceiver&) = delete;
  std::string url(const std::string& path = "/") const;

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
};

// A 127.0.0.1 port that nothing listens on (it was free a moment ago): connects are refused.
uint16_t unused_port();

}  // namespace vantage::testing
