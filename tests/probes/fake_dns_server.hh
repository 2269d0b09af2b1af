#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <vector>

#include "endpoint.hh"
#include "event_loop.hh"

namespace vantage::testing {

// An in-process UDP DNS server on a loopback port chosen by the kernel, served by the same event
// loop as the probe under test (the c-ares test suite's approach). `respond` returns the reply
// bytes for a query, or nothing to stay silent.
class FakeDnsServer {
 public:
  using Responder =
      std::function<std::optional<std::vector<unsigned char>>(const std::vector<unsigned char>&)>;

  FakeDnsServer(EventLoop& loop, Responder respond, int family = AF_INET)
      : loop_(loop), respond_(std::move(respond)) {
    fd_ = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    endpoint_ = *parse_endpoint(family == AF_INET6 ? "::1" : "127.0.0.1", 0);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&endpoint_.addr), endpoint_.len) < 0) {
      throw std::runtime_error("cannot bind the fake DNS server");
    }
    getsockname(fd_, reinterpret_cast<sockaddr*>(&endpoint_.addr), &endpoint_.len);
    loop_.watch(fd_, EPOLLIN, [this](uint32_t) { serve(); });
  }
  ~FakeDnsServer() {
    loop_.unwatch(fd_);
    close(fd_);
  }

  const Endpoint& endpoint() const { return endpoint_; }
  int queries() const { return queries_; }

 private:
  void serve() {
    unsigned char buffer[4096];
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    const ssize_t length =
        recvfrom(fd_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
    if (length <= 12) {
      return;
    }
    ++queries_;
    const std::vector<unsigned char> query(buffer, buffer + length);
    if (auto reply = respond_(query)) {
      sendto(fd_, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&from), from_length);
    }
  }

  EventLoop& loop_;
  Responder respond_;
  int fd_ = -1;
  Endpoint endpoint_;
  int queries_ = 0;
};

}  // namespace vantage::testing
