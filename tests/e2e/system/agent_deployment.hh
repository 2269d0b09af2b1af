#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "storage.hh"
#include "support/process.hh"
#include "support/temp_dir.hh"

namespace vantage::testing {

// A real vantage-collector on SQLite and one real vantage-agent, in a temporary directory. The
// agent's targets `<prefix>1.test`, `<prefix>2.test`… fail fast at DNS (its resolver is a closed
// loopback port), so it produces a result every few milliseconds without leaving the machine.
class AgentDeployment {
 public:
  AgentDeployment(std::string agent, std::string target_prefix, int targets);

  // Rewrites agent.yaml with this many targets (0: the agent only uploads what it spooled), and
  // `collector_url` if given instead of the collector's; read at the agent's next start or reload.
  void write_agent_config(int targets, const std::string& collector_url = "");
  // The collector's command line: `vantage-collector ARGS... --config collector.yaml`.
  CommandResult collector_command(std::vector<std::string> args) const;

  // Adds `retention: <flow mapping>` to collector.yaml, read at the collector's next start.
  void set_retention(const std::string& mapping);

  // Starts the collector and waits (bounded) until it accepts connections.
  void start_collector();
  void stop_collector();  // SIGTERM, then SIGKILL after 10 s
  void kill_collector();  // SIGKILL
  // `extra`: more arguments after `run --config agent.yaml` (--log-level debug).
  void start_agent(const std::vector<std::string>& extra = {});
  void stop_agent();
  void kill_agent();
  void signal_agent(int signal_number);  // SIGHUP: reload
  // Lets the agent deliver what is left in its spool, producing nothing more: restarts it without
  // targets and waits (bounded) until it has started and its spool is empty; then stops it.
  void drain();

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path state_dir() const { return dir() / "state"; }
  const std::string& agent() const { return agent_; }
  // The epoch the agent wrote in its state directory (0 before it wrote one).
  uint64_t epoch() const;
  // The highest seq the collector acknowledged to the agent's spool.
  uint64_t acknowledged() const;
  size_t spooled() const;  // results waiting in the spool (0 before there is one)
  size_t starts() const;   // how often the agent logged its start line
  // Every result of the agent in the collector's store (read while the collector runs too).
  std::vector<StoredResult> stored() const;
  std::string collector_url() const;
  std::string agent_log() const;
  std::string collector_log() const;
  std::string logs() const;  // both, the agent's first

 private:
  TempDir dir_{"vantage-deployment"};
  std::string agent_;
  std::string target_prefix_;
  uint16_t port_;
  std::optional<ChildProcess> collector_;
  std::optional<ChildProcess> agent_process_;
};

}  // namespace vantage::testing
