#include "agent_config.hh"

#include <fmt/format.h>

#include <regex>

#include "config_file.hh"
#include "config_node.hh"

namespace vantage {
namespace {

// warn_before: {certificate: 14d, signature: 3d}; either may be left out.
ExpiryThresholds read_warn_before(const ConfigNode& node) {
  node.allow_only({"certificate", "signature"});
  ExpiryThresholds thresholds;
  for (const auto& [key, period] : {std::pair{"certificate", &thresholds.certificate},
                                    std::pair{"signature", &thresholds.signature}}) {
    if (auto child = node.optional_child(key)) {
      if (std::string problem = read_threshold(child->as_string(), period); !problem.empty()) {
        child->fail(problem);
      }
    }
  }
  return thresholds;
}

TargetConfig read_target(const ConfigNode& node) {
  node.allow_only({"domain", "kind", "port", "path", "expect_status", "ca_file", "body_regex",
                   "insecure", "warn_before"});
  TargetConfig target;
  const auto domain = node.child("domain");
  const std::string name = domain.as_string();
  auto canonical = canonical_target_name(name);
  if (!canonical) {
    domain.fail(fmt::format("\"{}\" is not a domain name or an IP address", name));
  }
  target.domain = std::move(*canonical);
  if (auto kind = node.optional_child("kind")) {
    const std::string text = kind->as_string();
    const auto parsed = target_kind_from_string(text);
    if (!parsed) {
      kind->fail(fmt::format("\"{}\" is not https, http or tcp", text));
    }
    target.kind = *parsed;
  }
  target.port = default_port(target.kind);
  if (auto port = node.optional_child("port")) {
    target.port = static_cast<uint16_t>(port->as_int(1, 65535));
  } else if (target.kind == TargetKind::Tcp) {
    node.fail("port: a tcp target needs its port");
  }
  if (auto path = node.optional_child("path")) {
    target.path = path->as_string();
    if (target.path.empty() || target.path.front() != '/') {
      path->fail(fmt::format("\"{}\" must start with /", target.path));
    }
  }
  if (auto statuses = node.optional_child("expect_status")) {
    for (const auto& status : statuses->items()) {
      target.expect_status.push_back(static_cast<int>(status.as_int(100, 599)));
    }
  }
  if (auto ca = node.optional_child("ca_file")) {
    target.ca_file = ca->as_readable_file(kMaxConfigFileBytes);
  }
  if (auto regex = node.optional_child("body_regex")) {
    const std::string text = regex->as_string();
    auto compiled = BodyPattern::compile(text);
    if (!compiled.error.empty()) {
      regex->fail(fmt::format("\"{}\" is not a valid regular expression (RE2 syntax): {}", text,
                              compiled.error));
    }
    target.body_regex = std::move(compiled.pattern);
  }
  if (auto insecure = node.optional_child("insecure")) {
    target.insecure = insecure->as_bool();
  }
  if (auto warn_before = node.optional_child("warn_before")) {
    target.warn_before = read_warn_before(*warn_before);
  }
  const std::string problem = target_kind_problem(
      target.kind, target.path, !target.expect_status.empty() || !target.body_regex.empty(),
      !target.ca_file.empty() || target.insecure);
  if (!problem.empty()) {
    node.child("kind").fail(problem);
  }
  return target;
}

Endpoint read_endpoint(const ConfigNode& node, uint16_t default_port) {
  const std::string text = node.as_string();
  const auto endpoint = parse_endpoint(text, default_port);
  if (!endpoint || endpoint->port() == 0) {
    node.fail(fmt::format("\"{}\" is not {}", text, default_port == 0 ? "IP:PORT" : "IP[:PORT]"));
  }
  return *endpoint;
}

}  // namespace

AgentConfig load_agent_config(const std::string& file) {
  const ConfigNode root = ConfigNode::load(file);
  root.allow_only({"agent", "collector", "dns", "probe", "control_targets", "targets"});
  AgentConfig config;

  const auto agent = root.child("agent");
  agent.allow_only(
      {"name", "state_dir", "asn", "asn_database", "spool_max_bytes", "max_concurrent_probes"});
  const auto name = agent.child("name");
  config.name = name.as_string();
  static const std::regex kAgentName(R"(^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$)");
  if (!std::regex_match(config.name, kAgentName)) {
    name.fail(fmt::format("\"{}\" must be 1-63 letters, digits, '.', '_' or '-'", config.name));
  }
  config.state_dir = agent.child("state_dir").as_string();
  if (auto asn = agent.optional_child("asn")) {
    config.asn = static_cast<uint32_t>(asn->as_int(1, 4294967294));
  }
  if (auto database = agent.optional_child("asn_database")) {
    const std::string path = database->as_readable_file(kMaxAsnDatabaseBytes);
    try {
      config.asn_database = std::make_shared<const AsnDatabase>(path);
    } catch (const std::runtime_error& error) {
      database->fail(error.what());
    }
  }
  if (auto spool = agent.optional_child("spool_max_bytes")) {
    config.spool_max_bytes = static_cast<uint64_t>(spool->as_int(1 << 20, int64_t{1} << 40));
  }
  if (auto concurrency = agent.optional_child("max_concurrent_probes")) {
    config.max_concurrent_probes = static_cast<size_t>(concurrency->as_int(1, 10000));
  }

  const auto collector = root.child("collector");
  collector.allow_only({"url", "token_file", "ca_file"});
  const auto url = collector.child("url");
  config.collector_url = url.as_string();
  if (config.collector_url.rfind("http://", 0) != 0 &&
      config.collector_url.rfind("https://", 0) != 0) {
    url.fail(fmt::format("\"{}\" must start with http:// or https://", config.collector_url));
  }
  while (!config.collector_url.empty() && config.collector_url.back() == '/') {
    config.collector_url.pop_back();
  }
  config.token_file = collector.child("token_file").as_readable_file(kMaxConfigFileBytes);
  if (auto ca = collector.optional_child("ca_file")) {
    config.collector_ca_file = ca->as_readable_file(kMaxConfigFileBytes);
  }

  if (auto dns = root.optional_child("dns")) {
    dns->allow_only({"resolvers"});
    if (auto resolvers = dns->optional_child("resolvers")) {
      for (const auto& resolver : resolvers->items()) {
        config.resolvers.push_back(read_endpoint(resolver, 53));
      }
    }
  }

  if (auto probe = root.optional_child("probe")) {
    probe->allow_only({"interval", "timeout"});
    if (auto interval = probe->optional_child("interval")) {
      config.interval = interval->as_duration();
    }
    if (auto timeout = probe->optional_child("timeout")) {
      config.timeout = timeout->as_duration();
      if (config.timeout >= config.interval) {
        timeout->fail(
            fmt::format("must be shorter than probe.interval ({} ms)", config.interval.count()));
      }
    }
  }

  if (auto controls = root.optional_child("control_targets")) {
    for (const auto& control : controls->items()) {
      config.control_targets.push_back(read_endpoint(control, 0));
    }
  }
  if (auto targets = root.optional_child("targets")) {
    for (const auto& target : targets->items()) {
      config.targets.push_back(read_target(target));
    }
  }
  return config;
}

}  // namespace vantage
