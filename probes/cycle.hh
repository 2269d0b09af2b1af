#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "body_pattern.hh"
#include "endpoint.hh"
#include "limiter.hh"
#include "path_trace.hh"
#include "result.hh"

namespace vantage {

class EventLoop;
class AresLibrary;
class CurlMulti;

// What a vantage remembers of a domain from its last good cycle, so that a cycle can still ask
// "is the address itself reachable?" when DNS fails.
struct LastKnown {
  std::vector<std::string> addresses;  // IP literals of the domain
  struct Nameserver {
    std::string name;
    std::vector<std::string> addresses;
  };
  std::vector<Nameserver> nameservers;
};

struct CycleOptions {
  std::string domain;
  std::vector<Endpoint> resolvers;  // recursive resolvers; empty = the system's resolv.conf
  uint16_t port = 443;
  std::string path = "/";
  std::vector<int> expect_status;  // empty = any 2xx or 3xx
  BodyPattern body_regex;          // empty = no content check
  std::string ca_file;             // empty = the system store; else the only CA trusted
  bool insecure = false;
  std::chrono::milliseconds timeout{5000};  // per probe
  LastKnown last_known;
  std::vector<Endpoint> control_targets;  // TCP connects that must work for this vantage
  NetworkLookup network_lookup;           // ASN and covering network of an address; may be empty
};

// This vantage's own reading of one cycle, in the verdict names of docs/verdicts.md.
struct Reading {
  Verdict verdict = Verdict::Ok;
  std::string summary;                // one line for humans
  std::vector<std::string> evidence;  // one line per fact that decided the verdict
  std::vector<std::string> warnings;  // failures that did not decide it (one address of many)
};

struct CycleResult {
  std::string domain;
  std::chrono::system_clock::time_point started_at;
  std::chrono::microseconds duration{0};
  std::vector<ProbeResult> results;
  std::vector<std::string> recursive_addresses;      // what the resolvers answered
  std::vector<std::string> authoritative_addresses;  // what the authoritative servers answered
  std::vector<LastKnown::Nameserver> nameservers;    // as delegated by the parent
  LastKnown last_known_used;                         // what the cycle was handed
  Reading reading;

  // What the next cycle should remember: this cycle's addresses and nameservers when it found
  // any, else what it was handed.
  LastKnown next_last_known() const;
};

// The shared machinery cycles run on: one loop, one curl multi handle, one c-ares library init
// and one bound on concurrent probes. Create one per process.
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
