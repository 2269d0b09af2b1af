#include "probe_command.hh"

#include <fmt/format.h>

#include <iostream>

#include "agent_config.hh"
#include "asn_database.hh"
#include "body_pattern.hh"
#include "cycle.hh"
#include "cycle_table.hh"
#include "duration.hh"
#include "event_loop.hh"
#include "last_known.hh"
#include "result_json.hh"
#include "target.hh"

namespace vantage {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitNotOk = 1;
constexpr int kExitUsage = 2;
// This machine cannot probe anything: its own network is cut off (VANTAGE_ISOLATED). An error,
// not a reading of the domain.
constexpr int kExitIsolated = 3;

int usage_error(const std::string& message) {
  fmt::print(stderr, "vantage-agent probe: {}\n", message);
  return kExitUsage;
}

}  // namespace

CLI::App* add_probe_command(CLI::App& app, ProbeCommand& command) {
  auto* probe =
      app.add_subcommand("probe", "Run one cycle for TARGET and print what each layer saw");
  probe
      ->add_option("target", command.target.target,
                   "What to probe: DOMAIN or ADDRESS (HTTPS), or https://HOST[:PORT]/PATH, "
                   "http://HOST[:PORT]/PATH, tcp://HOST:PORT")
      ->required();
  probe->add_option("--resolver", command.resolvers,
                    "Recursive resolver IP[:PORT], repeatable (default: resolv.conf)");
  probe->add_option(
      "--control", command.controls,
      "Control target IP:PORT this vantage must reach to count as healthy, repeatable");
  probe
      ->add_option("--port", command.target.port,
                   "Service port (default: the target's, else 443 or 80)")
      ->check(CLI::Range(1, 65535));
  probe->add_option("--path", command.target.path, "HTTP path to request");
  probe->add_option("--ca", command.target.ca_file, "CA bundle to verify the certificate against")
      ->check(CLI::ExistingFile);
  probe->add_flag("--insecure", command.target.insecure, "Do not verify the certificate");
  probe->add_option("--timeout", command.timeout, "Per-probe timeout, e.g. 5s or 500ms");
  probe->add_option("--warn-certificate", command.target.warn_certificate,
                    "Warn of a certificate expiring within this period (default 14d; 0d: never)");
  probe->add_option("--warn-signature", command.target.warn_signature,
                    "Warn of DNSSEC signatures expiring within this period (default 3d; 0d: "
                    "never)");
  probe->add_option("--expect-status", command.target.expect_status,
                    "Accepted HTTP status, repeatable (default: any 2xx or 3xx)");
  probe->add_option("--body-regex", command.target.body_regex,
                    "Regular expression the body must match");
  probe->add_option("--state-dir", command.state_dir,
                    "Read and update last known addresses and nameservers here");
  probe
      ->add_option("--asn-db", command.asn_database,
                   "MaxMind ASN database naming the AS and network of each traced hop")
      ->check(CLI::ExistingFile);
  probe->add_flag("--json", command.json, "Print the cycle document as JSON");
  return probe;
}

int run_probe_command(const ProbeCommand& command) {
  const ParsedTarget parsed = target_from_arguments(command.target);
  if (!parsed.target) {
    return usage_error(parsed.error);
  }
  const Target& target = *parsed.target;
  const auto timeout = parse_duration(command.timeout);
  if (!timeout || timeout->count() == 0) {
    return usage_error(
        fmt::format("--timeout \"{}\" is not a duration like 5s or 500ms", command.timeout));
  }
  auto body_regex = BodyPattern::compile(target.body_regex);
  if (!body_regex.error.empty()) {
    return usage_error(
        fmt::format("--body-regex \"{}\" is not a valid regular expression (RE2 "
                    "syntax): {}",
                    target.body_regex, body_regex.error));
  }

  CycleOptions options;
  options.domain = target.domain;
  options.kind = target.kind;
  options.port = static_cast<uint16_t>(target.port);
  options.path = target.path;
  options.ca_file = target.ca_file;
  options.insecure = target.insecure;
  options.warn_before = target.warn_before;
  options.timeout = *timeout;
  options.expect_status = target.expect_status;
  options.body_regex = std::move(body_regex.pattern);
  for (const auto& text : command.resolvers) {
    const auto resolver = parse_endpoint(text, 53);
    if (!resolver) {
      return usage_error(fmt::format("--resolver \"{}\" is not IP[:PORT]", text));
    }
    options.resolvers.push_back(*resolver);
  }
  for (const auto& text : command.controls) {
    const auto control = parse_endpoint(text, 0);
    if (!control || control->port() == 0) {
      return usage_error(fmt::format("--control \"{}\" is not IP:PORT", text));
    }
    options.control_targets.push_back(*control);
  }
  if (!command.asn_database.empty()) {
    try {
      options.network_lookup =
          network_lookup(std::make_shared<const AsnDatabase>(command.asn_database));
    } catch (const std::runtime_error& error) {
      return usage_error(fmt::format("--asn-db: {}", error.what()));
    }
  }
  if (!command.state_dir.empty()) {
    options.last_known = load_last_known(command.state_dir, target.domain).value_or(LastKnown{});
  }

  EventLoop loop;
  CycleResult cycle;
  {
    Engine engine(loop);
    run_cycle(engine, options, [&cycle](CycleResult result) { cycle = std::move(result); });
    loop.run();
  }

  if (!command.state_dir.empty() && cycle.reading.verdict == Verdict::Ok) {
    save_last_known(command.state_dir, target.domain, cycle.next_last_known());
  }
  if (command.json) {
    std::cout << to_json(cycle).dump(2) << "\n";
  } else {
    std::cout << render_cycle_table(cycle);
  }
  if (cycle.reading.verdict == Verdict::VantageIsolated) {
    fmt::print(stderr, "vantage-agent probe: error: {}\n", cycle.reading.summary);
    return kExitIsolated;
  }
  return cycle.reading.verdict == Verdict::Ok ? kExitOk : kExitNotOk;
}

}  // namespace vantage
