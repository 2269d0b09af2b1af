#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>

#include "agent_config.hh"
#include "command_line.hh"
#include "config_node.hh"
#include "daemon.hh"
#include "probe_command.hh"

namespace {

// Every probe holds its sockets on the one event loop, and a trace to a silent address holds one
// per TTL in flight: with hundreds of probes at once the default soft limit of 1024 descriptors
// is too few. The hard limit is ours to take without privilege.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int run(int argc, char** argv) {
  CLI::App app{"vantage-agent: layer-by-layer reachability probes from this vantage"};
  app.set_version_flag("--version", VANTAGE_VERSION);
  app.require_subcommand(1);
  vantage::ProbeCommand probe;
  auto* probe_app = vantage::add_probe_command(app, probe);
  std::string config_file;
  auto* check_app = app.add_subcommand("check-config", "Check agent.yaml and exit");
  check_app->add_option("--config", config_file, "agent.yaml")->required();
  auto* run_app = app.add_subcommand("run", "Run the agent daemon");
  run_app->add_option("--config", config_file, "agent.yaml")->required();
  std::string log_level;
  vantage::add_log_level_option(run_app, log_level);
  if (const auto exit_code = vantage::parse_command_line(app, argc, argv)) {
    return *exit_code;
  }
  vantage::apply_log_level(log_level);
  raise_descriptor_limit();
  try {
    if (probe_app->parsed()) {
      return vantage::run_probe_command(probe);
    }
    if (run_app->parsed()) {
      return vantage::run_agent_daemon(config_file, vantage::load_agent_config(config_file));
    }
    if (check_app->parsed()) {
      const auto config = vantage::load_agent_config(config_file);
      fmt::print("{}: OK: agent {}, {} target{}, {} control target{}, interval {} ms\n",
                 config_file, config.name, config.targets.size(),
                 config.targets.size() == 1 ? "" : "s", config.control_targets.size(),
                 config.control_targets.size() == 1 ? "" : "s", config.interval.count());
      return 0;
    }
  } catch (const vantage::ConfigError& error) {
    fmt::print(stderr, "{}\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    fmt::print(stderr, "vantage-agent: {}\n", error.what());
    return 3;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (...) {
    return 3;  // not a std::exception: there is no message to add
  }
}
