#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "body_pattern.hh"
#include "cycle_result.hh"
#include "endpoint.hh"
#include "limiter.hh"
#include "path_trace.hh"
#include "result.hh"
#include "target.hh"

namespace vantage {

class EventLoop;
class AresLibrary;
class CurlMulti;

// What a vantage remembers of a domain from its last good cycle, so that a cycle can still ask
// "is the address itself reachable?" when DNS fails.
struct CycleOptions {
  std::string domain;  // a domain name, or an IP address: a target without a DNS layer
  TargetKind kind = TargetKind::Https;
  std::vector<Endpoint> resolvers;  // recursive resolvers; empty = the system's resolv.conf
  uint16_t port = 443;
  std::string path = "/";
  std::vector<int> expect_status;  // empty = any 2xx or 3xx
  BodyPattern body_regex;          // empty = no content check
  std::string ca_file;             // empty = the system store; else the only CA trusted
  bool insecure = false;
  ExpiryThresholds warn_before;             // what expires this soon is warned of
  std::chrono::milliseconds timeout{5000};  // per probe
  LastKnown last_known;
  std::vector<Endpoint> control_targets;  // TCP connects that must work for this vantage
  NetworkLookup network_lookup;           // ASN and covering network of an address; may be empty
};

// This vantage's own reading of one cycle, in the verdict names of docs/verdicts.md.
class Engine {
 public:
  explicit Engine(EventLoop& loop, size_t max_concurrent_probes = 256);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  EventLoop& loop() { return loop_; }
  CurlMulti& curl() { return *curl_; }
  Limiter& limiter() { return limiter_; }

 private:
  EventLoop& loop_;
  std::unique_ptr<AresLibrary> ares_;
  std::unique_ptr<CurlMulti> curl_;
  Limiter limiter_;
};

// Starts one cycle for `options.domain` on the engine's loop; `done` is called once, on the loop,
// with every probe's result and the reading. Many cycles may run at once.
void run_cycle(Engine& engine, CycleOptions options, std::function<void(CycleResult)> done);

}  // namespace vantage
