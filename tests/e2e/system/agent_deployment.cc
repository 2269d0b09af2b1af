#include "agent_deployment.hh"

#include <fmt/format.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <utility>

#include "support/net.hh"

namespace vantage::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// `token create` prints the token on its last line.
std::string last_line(const std::string& text) {
  const size_t end = text.find_last_not_of('\n');
  if (end == std::string::npos) {
    return "";
  }
  const size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end - (start + 1) + 1);
}

void kill_hard(std::optional<ChildProcess>& process) {
  ::kill(process->pid(), SIGKILL);
  process->stop();
  process.reset();
}

uint64_t number_in(const fs::path& file) {
  const auto text = read_text(file);
  return text.empty() ? 0 : std::stoull(text);
}

}  // namespace

AgentDeployment::AgentDeployment(std::string agent, std::string target_prefix, int targets)
    : agent_(std::move(agent)),
      target_prefix_(std::move(target_prefix)),
      port_(free_loopback_port()) {
  write_text(dir() / "collector.yaml",
             fmt::format("listen: \"127.0.0.1:{}\"\nstorage: {{ sqlite: {} }}\n", port_,
                         (dir() / "collector.db").string()));
  const auto created = run_command({VANTAGE_COLLECTOR_PATH, "token", "create", agent_, "--config",
                                    (dir() / "collector.yaml").string()});
  REQUIRE(created.exit_code == 0);
  write_text(dir() / "agent.token", last_line(created.out) + "\n");
  write_agent_config(targets);
}

void AgentDeployment::set_retention(const std::string& mapping) {
  write_text(dir() / "collector.yaml",
             read_text(dir() / "collector.yaml") + fmt::format("retention: {}\n", mapping));
}

void AgentDeployment::write_agent_config(int targets, const std::string& collector_url) {
  std::string text = fmt::format(
      "agent: {{ name: {}, state_dir: {} }}\n"
      "collector: {{ url: \"{}\", token_file: {} }}\n"
      "dns: {{ resolvers: [\"127.0.0.1:9\"] }}\n"
      "probe: {{ interval: 200ms, timeout: 100ms }}\n"
      "targets:\n",
      agent_, state_dir().string(), collector_url.empty() ? this->collector_url() : collector_url,
      (dir() / "agent.token").string());
  for (int i = 1; i <= targets; ++i) {
    text += fmt::format("  - {{ domain: {}{}.test }}\n", target_prefix_, i);
  }
  if (targets == 0) {
    text += "  []\n";
  }
  write_text(dir() / "agent.yaml", text);
}

void AgentDeployment::start_collector() {
  collector_.emplace("collector",
                     std::vector<std::string>{VANTAGE_COLLECTOR_PATH, "serve", "--config",
                                              (dir() / "collector.yaml").string()},
                     dir() / "collector.log");
  const bool up = wait_until([&] {
    collector_->expect_running();
    return tcp_accepts("127.0.0.1", port_, 200ms);
  });
  REQUIRE(up);
}

void AgentDeployment::stop_collector() {
  collector_->stop(10s);
  collector_.reset();
}

void AgentDeployment::kill_collector() {
  kill_hard(collector_);
}

void AgentDeployment::start_agent(const std::vector<std::string>& extra) {
  std::vector<std::string> arguments{VANTAGE_AGENT_PATH, "run", "--config",
                                     (dir() / "agent.yaml").string()};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  agent_process_.emplace("agent", arguments, dir() / "agent.log");
}

void AgentDeployment::stop_agent() {
  agent_process_->stop(10s);
  agent_process_.reset();
}

void AgentDeployment::kill_agent() {
  kill_hard(agent_process_);
}

void AgentDeployment::signal_agent(int signal_number) {
  REQUIRE(agent_process_);
  REQUIRE(::kill(agent_process_->pid(), signal_number) == 0);
}

CommandResult AgentDeployment::collector_command(std::vector<std::string> args) const {
  args.insert(args.begin(), VANTAGE_COLLECTOR_PATH);
  args.push_back("--config");
  args.push_back((dir() / "collector.yaml").string());
  return run_command(args);
}

void AgentDeployment::drain() {
  write_agent_config(0);
  const size_t starts_before = starts();
  start_agent();
  // Past its start line, so it has read its state, and then everything delivered.
  const bool drained =
      wait_until([&] { return starts() > starts_before && spooled() == 0; }, {600, 100ms, 60s});
  INFO(logs());
  REQUIRE(drained);
  stop_agent();
}

uint64_t AgentDeployment::epoch() const {
  return number_in(state_dir() / "epoch");
}

uint64_t AgentDeployment::acknowledged() const {
  return number_in(state_dir() / "spool" / "acknowledged");
}

size_t AgentDeployment::spooled() const {
  size_t count = 0;
  std::error_code absent;  // before the agent made its spool
  for (const auto& entry : fs::directory_iterator(state_dir() / "spool", absent)) {
    count += entry.path().extension() == ".json" ? 1 : 0;
  }
  return count;
}

size_t AgentDeployment::starts() const {
  const std::string log = agent_log();
  size_t count = 0;
  for (size_t at = log.find(" starting: "); at != std::string::npos;
       at = log.find(" starting: ", at + 1)) {
    ++count;
  }
  return count;
}

std::vector<StoredResult> AgentDeployment::stored() const {
  auto storage = open_sqlite_storage((dir() / "collector.db").string());
  return storage->results("", agent_, TimePoint{}, 1'000'000);
}

std::string AgentDeployment::collector_url() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}

std::string AgentDeployment::agent_log() const {
  return read_text(dir() / "agent.log");
}

std::string AgentDeployment::collector_log() const {
  return read_text(dir() / "collector.log");
}

std::string AgentDeployment::logs() const {
  return agent_log().substr(0, 4000) + "\n---\n" + collector_log().substr(0, 4000);
}

}  // namespace vantage::testing
