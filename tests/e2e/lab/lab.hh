#pragma once

// The outage lab as the tests drive it: `scripts/lab` builds and breaks a small Internet in
// network namespaces (see the topology in scripts/lab), and `vantage-agent probe --json` runs
// inside a vantage's namespace exactly as an operator would run it there.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vantage::lab {

inline constexpr int kSkipExitCode = 77;
inline constexpr std::string_view kDomain = "social.example";
// scripts/lab's VANTAGES: vp1 and vp2 in AS64510, vp3 in AS64511. A loop over the vantages
// requires all of them first, so that a check per vantage never passes for want of vantages.
inline constexpr size_t kVantageCount = 3;

// Addresses from scripts/lab's topology that the assertions name.
inline constexpr std::string_view kWebV4 = "203.0.113.80";
inline constexpr std::string_view kWebV6 = "2001:db8:500::80";
inline constexpr std::string_view kNs1V4 = "203.0.113.53";
inline constexpr std::string_view kNs1V6 = "2001:db8:500::53";
inline constexpr std::string_view kNs2V4 = "203.0.113.54";
inline constexpr std::string_view kNs2V6 = "2001:db8:500::54";
// The origin's border router (vlab-origin), in front of its servers (vlab-origin-lan): the last hop
// that answers a traceroute to a server its firewall drops.
inline constexpr std::string_view kOriginRouterV4 = "203.0.113.1";
inline constexpr std::string_view kControlRoot = "198.51.100.10:53";
inline constexpr std::string_view kControlTld = "198.51.100.20:53";

// The words the reading's evidence (and the collector's) uses for each proof. The agent's wording
// may still change: a line passes when it contains any one of a list's substrings, so adjusting
// the expectation means editing these lists only.
struct EvidenceWords {
  // Silence from the web server while something else in its routed prefix answered: "203.0.113.53
  // answered DNS (NOERROR), in the same 203.0.113.0/24: route present".
  static const std::vector<std::string>& web_route_present();
  // Silence on the web port only: the host's own answer to another probe proves the route as well
  // as a neighbour's does ("203.0.113.80 answers icmp echo: route present"); either passes.
  static const std::vector<std::string>& web_port_route_present();
  // Silence from the nameservers while the web server in their prefix (or the hosts themselves)
  // answered: "203.0.113.80 accepted TCP on port 443, in the same 203.0.113.0/24: route present".
  static const std::vector<std::string>& dns_route_present();
  // Silence with a path that dies before the origin's network: "vantage → * * *: silent from the
  // first hop, before 203.0.113.0/24; nothing in 203.0.113.0/24 answered: route lost".
  static const std::vector<std::string>& route_lost();
};
// The first line of `lines` (strings, or a JSON array of strings) holding any of `words`; empty
// when none does.
std::string first_mention(const nlohmann::json& lines, const std::vector<std::string>& words);
// "203.0.113.80" from "203.0.113.80", "203.0.113.80:443" or "[2001:db8:500::80]:443".
std::string address_of(std::string_view target);

struct Vantage {
  std::string name;  // vp1, vp2, vp3: the namespace is vlab-<name>
  std::string resolver_v4;
  std::string resolver_v6;
};
const std::vector<Vantage>& vantages();
const Vantage& vantage(std::string_view name);

// A finished child process.
struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or by the timeout
  bool timed_out = false;
  std::string out;
  std::string err;
  std::chrono::duration<double> elapsed{0};
};

// Runs argv with a bounded wait: after `timeout` the child's process group is killed.
CommandResult run(const std::vector<std::string>& argv, std::chrono::seconds timeout);

// One `vantage-agent probe ... --json` run.
struct ProbeRun {
  std::string vantage;
  std::vector<std::string> command;
  CommandResult outcome;
  nlohmann::json doc;  // null when stdout was not JSON

  std::string verdict() const;
  std::vector<nlohmann::json> results(std::string_view check) const;
  // The failure classes ("None" for a success) of every result of one check; empty if none ran.
  std::set<std::string> failures(std::string_view check) const;
  std::set<std::string> addresses(std::string_view kind) const;  // recursive, last_known, ...
  // The results of one check whose target is `address` (with or without a port).
  std::vector<nlohmann::json> results_for(std::string_view check, std::string_view address) const;
  // The reading's summary and evidence lines, as one JSON array of strings.
  nlohmann::json evidence() const;
  // What a reader of a failed assertion needs: the command, its exit, the reading, and one line
  // per result.
  std::string describe() const;
};

class Lab {
 public:
  static Lab& get();

  const std::filesystem::path& script() const { return script_; }
  const std::filesystem::path& agent() const { return agent_; }
  const std::filesystem::path& dir() const { return dir_; }

  // scripts/lab ARGS...; the result is checked by the caller.
  CommandResult lab(const std::vector<std::string>& args,
                    std::chrono::seconds timeout = std::chrono::seconds(90)) const;

  ProbeRun probe(std::string_view vantage) const;
  std::vector<ProbeRun> probe_all() const;  // every vantage, in parallel, in vantages() order

  // Probes every vantage until all read OK, at most `within`; returns the last runs.
  std::vector<ProbeRun> wait_all_ok(std::chrono::seconds within) const;

 private:
  Lab();
  std::filesystem::path script_, agent_, dir_;
};

// scripts/lab break SCENARIO [VP] on construction; `fix()` (or the destructor, when an assertion
// ended the test early) runs scripts/lab fix, so the next case always starts from a healthy lab.
class Breakage {
 public:
  explicit Breakage(std::vector<std::string> scenario);
  ~Breakage();
  Breakage(const Breakage&) = delete;
  Breakage& operator=(const Breakage&) = delete;

  CommandResult fix();

 private:
  std::vector<std::string> scenario_;
  bool fixed_ = false;
};

// Timings the suite prints at the end: one row per scenario.
struct ScenarioTiming {
  std::string scenario;
  std::string readings;  // e.g. "vp1 ROUTE_LOSS"
  double break_s = 0, probe_s = 0, fix_s = 0, back_to_ok_s = 0;
};
void record_timing(ScenarioTiming timing);
std::string timing_table();

}  // namespace vantage::lab
