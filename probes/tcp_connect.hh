#pragma once

#include <chrono>

#include "endpoint.hh"
#include "probe.hh"

namespace vantage {

class EventLoop;

// A non-blocking TCP connect to `target`, classified by the socket's errno. `check` is Tcp for a
// domain's address and Control for a vantage's own control target.
void probe_tcp_connect(EventLoop& loop, const Endpoint& target, Check check,
                       std::chrono::milliseconds timeout, ProbeDone done);

}  // namespace vantage
