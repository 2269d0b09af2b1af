#include "cli.hh"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "api_model.hh"
#include "cli_client.hh"
#include "cli_output.hh"
#include "config_file.hh"
#include "duration.hh"
#include "printable.hh"
#include "result_json.hh"

namespace vantage {
namespace {

using nlohmann::json;

std::string join_statuses(const std::vector<int>& statuses) {
  std::string text;
  for (const int status : statuses) {
    text += (text.empty() ? "" : ",") + std::to_string(status);
  }
  return text.empty() ? "2xx/3xx" : text;
}

// "-" for a field the API sends as null when it is empty.
std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text_of(text);
}

}  // namespace

std::string read_client_token(const std::string& token_file) {
  std::string token;
  if (!token_file.empty()) {
    try {
      token = read_config_file(token_file, kMaxConfigFileBytes);
    } catch (const FileError& error) {
      throw UsageError(
          fmt::format("cannot read the token file \"{}\": {}", token_file, error.what()));
    }
  } else if (const char* env = std::getenv("VANTAGE_TOKEN"); env != nullptr) {
    token = env;
  } else {
    throw UsageError("no token: pass --token-file FILE or set VANTAGE_TOKEN");
  }
  const auto first = token.find_first_not_of(" \t\r\n");
  const auto last = token.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    throw UsageError(token_file.empty()
                         ? "VANTAGE_TOKEN is empty"
                         : fmt::format("the token file \"{}\" is empty", token_file));
  }
  return token.substr(first, last - first + 1);
}

namespace {

// How a target's certificate is checked: "-" without TLS.
std::string tls_text(const Target& target) {
  if (target.kind != TargetKind::Https) {
    return "-";
  }
  if (target.insecure) {
    return "insecure";
  }
  return target.ca_file.empty() ? "system CAs" : "ca " + text_of(target.ca_file);
}

// How long before expiry the target's certificates and signatures are warned of: "cert 14d, sig
// 3d"; a kind the target has not (no TLS, an address without DNS) is left out.
std::string warn_text(const Target& target) {
  std::string text;
  if (target.kind == TargetKind::Https) {
    text = "cert " + format_period(target.warn_before.certificate);
  }
  if (!is_address_name(target.domain)) {
    text += (text.empty() ? "sig " : ", sig ") + format_period(target.warn_before.signature);
  }
  return text.empty() ? "-" : text;
}

}  // namespace

int targets_list_command(const ClientOptions& options, std::ostream& out) {
  const auto fetched = fetch_for_humans(options, "/api/v1/targets", out, &target_list_from_json);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  const TargetList& list = *fetched.document;
  Table rows;
  for (const auto& target : list.targets) {
    const bool http = target.kind != TargetKind::Tcp;
    rows.push_back({text_of(target.domain), std::string(to_string(target.kind)), "central",
                    std::to_string(target.port), http ? text_of(target.path) : "-",
                    http ? join_statuses(target.expect_status) : "-", text_of(target.body_regex),
                    warn_text(target), tls_text(target)});
  }
  // Probed from agent.yaml: the collector knows neither port nor path, only who reports it.
  const auto& own = list.agent_file_targets.value_or(std::vector<AgentFileTarget>{});
  for (const auto& target : own) {
    std::string agents;
    for (const auto& agent : target.agents) {
      agents += (agents.empty() ? "" : ",") + text_of(agent);
    }
    rows.push_back(
        {text_of(target.domain), "-", "agent.yaml of " + agents, "-", "-", "-", "-", "-", "-"});
  }
  if (rows.empty()) {
    out << "no targets";
  } else {
    print_table(
        out,
        {"DOMAIN", "KIND", "ORIGIN", "PORT", "PATH", "EXPECT", "BODY_REGEX", "WARN_BEFORE", "TLS"},
        rows);
    out << list.targets.size()
        << (list.targets.size() == 1 ? " central target" : " central targets");
    if (!own.empty()) {
      out << " and " << own.size() << " from agents' own files";
    }
  }
  out << ", version " << list.version << '\n';
  return 0;
}

int targets_add_command(const ClientOptions& options, const TargetArguments& arguments,
                        std::ostream& out) {
  const ParsedTarget parsed = target_from_arguments(arguments);
  if (!parsed.target) {
    throw UsageError(parsed.error);
  }
  const Target& target = *parsed.target;
  const ApiClient client = client_for(options);
  // Only what differs from the API's defaults, so that a collector that predates a field still
  // takes a target that does not use it.
  json request = {{"domain", target.domain}, {"port", target.port}, {"path", target.path}};
  if (target.kind != TargetKind::Https) {
    request["kind"] = to_string(target.kind);
  }
  if (!target.expect_status.empty()) {
    request["expect_status"] = target.expect_status;
  }
  if (!target.body_regex.empty()) {
    request["body_regex"] = target.body_regex;
  }
  if (!target.ca_file.empty()) {
    request["ca_file"] = target.ca_file;
  }
  if (target.insecure) {
    request["insecure"] = true;
  }
  if (target.warn_before != ExpiryThresholds{}) {
    request["warn_before"] = to_json(target.warn_before);
  }
  const auto body = expect(client, client.request("POST", "/api/v1/targets", request.dump()), 201);
  if (!body) {
    return 1;
  }
  if (options.json) {
    out << body->dump(2) << '\n';
    return 0;
  }
  const auto version = read_reply(options.url, *body, &targets_version_from_json);
  if (!version) {
    return 1;
  }
  out << fmt::format("added {} ({}, port {}{}); targets version {}\n", printable(target.domain),
                     to_string(target.kind), target.port,
                     target.kind == TargetKind::Tcp ? "" : ", path " + printable(target.path),
                     version->version);
  return 0;
}

int targets_remove_command(const ClientOptions& options, const std::string& target_text,
                           std::ostream& out) {
  // Written as it was added: "tcp://mail.example:25" removes mail.example.
  const auto parsed = parse_target_location(target_text);
  const std::string domain = parsed.location ? parsed.location->name : target_text;
  const ApiClient client = client_for(options);
  const auto body =
      expect(client, client.request("DELETE", "/api/v1/targets/" + percent_encode(domain)), 200);
  if (!body) {
    return 1;
  }
  if (options.json) {
    out << body->dump(2) << '\n';
    return 0;
  }
  const auto version = read_reply(options.url, *body, &targets_version_from_json);
  if (!version) {
    return 1;
  }
  out << fmt::format("removed {}; targets version {}\n", printable(domain), version->version);
  return 0;
}

int agents_command(const ClientOptions& options, std::ostream& out) {
  const auto fetched = fetch_for_humans(options, "/api/v1/agents", out, &agents_from_json);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  if (fetched.document->empty()) {
    out << "no agents have reported yet\n";
    return 0;
  }
  Table rows;
  for (const auto& agent : *fetched.document) {
    // STATE: stale (silent for more than two intervals: its readings no longer count), ISOLATED
    // (its own control targets fail), or ok.
    const std::string state = agent.state == AgentState::Isolated
                                  ? std::string("ISOLATED")
                                  : std::string(to_string(agent.state));
    rows.push_back(
        {text_of(agent.name), format_time(agent.last_seen), age_of(agent.last_seen), state,
         (agent.asn ? std::to_string(*agent.asn) : "-") +
             (agent.asn_source == AsnSource::Lookup ? " (looked up)" : ""),
         or_dash(agent.network) + (agent.asn_source == AsnSource::Prefix ? " (source)" : ""),
         text_of(agent.address),
         agent.interval_ms ? fmt::format("{}s", static_cast<double>(*agent.interval_ms) / 1000.0)
                           : "-",
         text_of(agent.version), std::to_string(agent.uptime_s), std::to_string(agent.spool_depth),
         std::to_string(agent.spool_dropped)});
  }
  // DROPPED: results the agent's full spool discarded unsent since it started; they are lost.
  print_table(out,
              {"NAME", "LAST_SEEN", "AGE", "STATE", "ASN", "NETWORK", "ADDRESS", "INTERVAL",
               "VERSION", "UPTIME_S", "SPOOL", "DROPPED"},
              rows);
  return 0;
}

}  // namespace vantage
