#include "cli.hh"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "cli_client.hh"
#include "cli_output.hh"
#include "config_file.hh"
#include "domain_name.hh"
#include "printable.hh"
#include "result_json.hh"

namespace vantage {
namespace {

using nlohmann::json;

std::string join_statuses(const json& statuses) {
  std::string text;
  for (const auto& status : statuses) {
    text += (text.empty() ? "" : ",") + status.dump();
  }
  return text.empty() ? "2xx/3xx" : text;
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

int targets_list_command(const ClientOptions& options, std::ostream& out) {
  const Fetched fetched = fetch_for_humans(options, "/api/v1/targets", out);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  const auto& body = fetched.document;
  Table rows;
  for (const auto& target : body->value("targets", json::array())) {
    rows.push_back({text_of(target.value("domain", json())), text_of(target.value("port", json())),
                    text_of(target.value("path", json())),
                    join_statuses(target.value("expect_status", json::array())),
                    text_of(target.value("body_regex", json("")))});
  }
  if (rows.empty()) {
    out << "no targets";
  } else {
    print_table(out, {"DOMAIN", "PORT", "PATH", "EXPECT", "BODY_REGEX"}, rows);
    out << rows.size() << (rows.size() == 1 ? " target" : " targets");
  }
  out << ", version " << text_of(body->value("version", json())) << '\n';
  return 0;
}

int targets_add_command(const ClientOptions& options, const Target& target, std::ostream& out) {
  const ApiClient client = client_for(options);
  json request = {{"domain", target.domain}, {"port", target.port}, {"path", target.path}};
  if (!target.expect_status.empty()) {
    request["expect_status"] = target.expect_status;
  }
  if (!target.body_regex.empty()) {
    request["body_regex"] = target.body_regex;
  }
  const auto body = expect(client, client.request("POST", "/api/v1/targets", request.dump()), 201);
  if (!body) {
    return 1;
  }
  if (options.json) {
    out << body->dump(2) << '\n';
  } else {
    out << fmt::format("added {} (port {}, path {}); targets version {}\n",
                       printable(canonical_domain_name(target.domain).value_or(target.domain)),
                       target.port, target.path, text_of(body->value("version", json())));
  }
  return 0;
}

int targets_remove_command(const ClientOptions& options, const std::string& domain,
                           std::ostream& out) {
  const ApiClient client = client_for(options);
  const auto body =
      expect(client, client.request("DELETE", "/api/v1/targets/" + percent_encode(domain)), 200);
  if (!body) {
    return 1;
  }
  if (options.json) {
    out << body->dump(2) << '\n';
  } else {
    out << fmt::format("removed {}; targets version {}\n",
                       printable(canonical_domain_name(domain).value_or(domain)),
                       text_of(body->value("version", json())));
  }
  return 0;
}

int agents_command(const ClientOptions& options, std::ostream& out) {
  const Fetched fetched = fetch_for_humans(options, "/api/v1/agents", out);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  const auto& body = fetched.document;
  if (!body->is_array() || body->empty()) {
    out << "no agents have reported yet\n";
    return 0;
  }
  Table rows;
  for (const auto& agent : *body) {
    const json last_seen = agent.value("last_seen", json());
    const json source = agent.value("asn_source", json());
    // STATE: stale (silent for more than two intervals: its readings no longer count), ISOLATED
    // (its own control targets fail), or ok. A collector without "state" only knew isolation.
    std::string state = agent.value("state", std::string());
    if (state.empty()) {
      state = agent.value("isolated", false) ? "isolated" : "ok";
    }
    const json interval = agent.value("interval_ms", json());
    rows.push_back(
        {text_of(agent.value("name", json())), text_of(last_seen), age_of(last_seen),
         state == "isolated" ? "ISOLATED" : printable(state),
         text_of(agent.value("asn", json())) + (source == "lookup" ? " (looked up)" : ""),
         text_of(agent.value("network", json())) + (source == "prefix" ? " (source)" : ""),
         text_of(agent.value("address", json())),
         interval.is_number() ? fmt::format("{}s", interval.get<double>() / 1000.0) : "-",
         text_of(agent.value("version", json())), text_of(agent.value("uptime_s", json())),
         text_of(agent.value("spool_depth", json())),
         text_of(agent.value("spool_dropped", json()))});
  }
  // DROPPED: results the agent's full spool discarded unsent since it started; they are lost.
  print_table(out,
              {"NAME", "LAST_SEEN", "AGE", "STATE", "ASN", "NETWORK", "ADDRESS", "INTERVAL",
               "VERSION", "UPTIME_S", "SPOOL", "DROPPED"},
              rows);
  return 0;
}

}  // namespace vantage
