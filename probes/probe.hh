#pragma once

#include <chrono>
#include <functional>

#include "result.hh"

namespace vantage {

// Every probe file exposes one function of this shape: it starts the probe on the loop and calls
// `done` exactly once, on the loop thread, with the classified result. Probes never throw after
// they have started; setup errors are reported as Failure::Internal.
using ProbeDone = std::function<void(ProbeResult)>;

}  // namespace vantage
