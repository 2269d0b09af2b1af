#include "support/unbound.hh"

#include <stdexcept>

#include "support/net.hh"

namespace vantage::testing {
namespace {

std::string quoted(const std::filesystem::path& path) {
  return "\"" + path.string() + "\"";
}

std::string root_hints_text(const std::vector<RootServer>& servers) {
  std::string text;
  for (const auto& server : servers) {
    text += ". 3600000 IN NS " + server.name + "\n";
    for (const auto& address : server.addresses) {
      const char* type = address.find(':') == std::string::npos ? "A" : "AAAA";
      text += server.name + " 3600000 IN " + type + " " + address + "\n";
    }
  }
  return text;
}

}  // namespace

std::string unbound_config_text(const UnboundConfig& config) {
  const auto& dir = config.dir;
  std::string text = "server:\n";
  text += "  username: \"\"\n";
  text += "  chroot: \"\"\n";
  text += "  directory: " + quoted(dir) + "\n";
  text += "  pidfile: " + quoted(dir / "unbound.pid") + "\n";
  text += "  do-daemonize: no\n";
  text += "  use-syslog: no\n";
  text += "  logfile: \"\"\n";
  text += "  verbosity: 1\n";
  text += "  log-servfail: yes\n";  // says why, in the log the test quotes on failure
  text += "  port: " + std::to_string(config.port) + "\n";
  for (const auto& address : config.addresses)
    text += "  interface: " + address + "\n";
  text += "  do-ip4: yes\n";
  text += "  do-ip6: yes\n";
  text += "  num-threads: 1\n";
  text += "  so-reuseport: no\n";
  text += "  outgoing-range: 64\n";
  text += "  num-queries-per-thread: 32\n";
  text += "  root-hints: " + quoted(dir / "root.hints") + "\n";
  text += "  do-not-query-localhost: no\n";
  if (config.trust_anchor.empty()) {
    text += "  module-config: \"iterator\"\n";
  } else {
    text += "  module-config: \"validator iterator\"\n";
    text += "  trust-anchor: \"" + config.trust_anchor + "\"\n";
    text += "  ede: yes\n";
    text += "  val-log-level: 2\n";  // the reason for every bogus answer, in the log
  }
  text += "  qname-minimisation: no\n";  // fewer queries, simpler logs; irrelevant to the lab
  text += "  cache-max-ttl: 5\n";
  text += "  cache-max-negative-ttl: 1\n";
  text += "  infra-host-ttl: 5\n";
  for (const auto& zone : config.undefault_zones) {
    text += "  local-zone: \"" + zone + "\" nodefault\n";
  }
  for (const auto& zone : config.local_zones) {
    text += "  local-zone: \"" + zone + "\" static\n";
  }
  for (const auto& record : config.local_data) {
    text += "  local-data: \"" + record + "\"\n";
  }
  text += "remote-control:\n";
  text += "  control-enable: no\n";
  return text;
}

ChildProcess start_unbound(const UnboundConfig& config, std::string_view name) {
  static const auto unbound = find_program("unbound");
  if (!unbound)
    throw std::runtime_error("unbound is not installed");
  std::filesystem::create_directories(config.dir);
  write_text(config.dir / "root.hints", root_hints_text(config.root_servers));
  const auto conf = config.dir / "unbound.conf";
  write_text(conf, unbound_config_text(config));
  ChildProcess process(std::string(name), {unbound->string(), "-d", "-c", conf.string()},
                       config.dir / "unbound.log");
  for (const auto& address : config.addresses) {
    // localhost. is one of Unbound's own local zones: the answer proves it listens without
    // recursing (and so without touching the authoritative servers' query logs).
    bool ready = wait_until([&] {
      process.expect_running();
      return query_dns(address, config.port, "localhost.", 1 /* A */, true,
                       std::chrono::milliseconds(100))
          .has_value();
    });
    if (!ready) {
      throw std::runtime_error(process.name() + " does not answer on " + address +
                               "; its log ends:\n" + process.log_tail());
    }
  }
  return process;
}

}  // namespace vantage::testing
