#include "sample_cycle.hh"

#include <chrono>

namespace vantage::testing {

CycleResult healthy_cycle(const std::string& domain) {
  CycleResult cycle;
  cycle.domain = domain;
  cycle.started_at = std::chrono::system_clock::now() - std::chrono::seconds(30);
  cycle.duration = std::chrono::milliseconds(120);
  cycle.recursive_addresses = {"192.0.2.10"};
  ProbeResult tcp;
  tcp.check = Check::Tcp;
  tcp.target = "192.0.2.10:443";
  tcp.phase = Phase::Connect;
  tcp.timings.connect = std::chrono::microseconds(1500);
  cycle.results.push_back(tcp);
  cycle.reading.verdict = Verdict::Ok;
  cycle.reading.summary = "all layers healthy";
  return cycle;
}

}  // namespace vantage::testing
