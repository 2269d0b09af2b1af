#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>

#include "endpoint.hh"

namespace vantage::testing {

// A listening TCP socket on a kernel-chosen loopback port ("127.0.0.1", "::1"); closed on
// destruction.
struct LoopbackListener {
  explicit LoopbackListener(const char* literal) {
    endpoint = *parse_endpoint(literal, 0);
    fd = socket(endpoint.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&endpoint.addr), endpoint.len) == 0);
    REQUIRE(listen(fd, 16) == 0);
    getsockname(fd, reinterpret_cast<sockaddr*>(&endpoint.addr), &endpoint.len);
  }
  ~LoopbackListener() { close(fd); }
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;
  int fd = -1;
  Endpoint endpoint;
};

// A loopback TCP port nothing listens on (it did a moment ago).
inline uint16_t closed_loopback_port(const char* literal) {
  LoopbackListener gone(literal);
  return gone.endpoint.port();
}

}  // namespace vantage::testing
