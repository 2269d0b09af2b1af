#include "cli.hh"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <vector>

#include "api_input.hh"
#include "cli_client.hh"
#include "result_json.hh"

namespace vantage {
namespace {

using nlohmann::json;
using Table = std::vector<std::vector<std::string>>;

void print_table(std::ostream& out, const std::vector<std::string>& header, const Table& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i) {
    widths[i] = header[i].size();
    for (const auto& row : rows) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], widths[i]);
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out << line << '\n';
  };
  print_row(header);
  for (const auto& row : rows) {
    print_row(row);
  }
}

std::string percent_encode(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((std::isalnum(byte) != 0) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

ApiClient client_for(const ClientOptions& options) {
  return ApiClient(options.url, read_client_token(options.token_file), options.ca_file);
}

// The reply's JSON, or nullopt after printing why the request failed.
std::optional<json> expect(const ApiClient& client, const ApiReply& reply, long wanted) {
  if (reply.status != wanted) {
    fmt::print(stderr, "vantage-collector: {}\n", describe_failure(client.url(), reply));
    return std::nullopt;
  }
  auto body = json::parse(reply.body, nullptr, false);
  if (body.is_discarded()) {
    fmt::print(stderr,
               "vantage-collector: collector at {} answered {} with a body that is not "
               "JSON\n",
               client.url(), reply.status);
    return std::nullopt;
  }
  return body;
}

std::string join_statuses(const json& statuses) {
  std::string text;
  for (const auto& status : statuses) {
    text += (text.empty() ? "" : ",") + status.dump();
  }
  return text.empty() ? "2xx/3xx" : text;
}

std::string age_of(const std::string& rfc3339) {
  const auto then = parse_time(rfc3339);
  if (!then) {
    return "?";
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - *then)
          .count();
  if (seconds < 120) {
    return fmt::format("{}s ago", std::max<int64_t>(seconds, 0));
  }
  if (seconds < 7200) {
    return fmt::format("{}m ago", seconds / 60);
  }
  if (seconds < 172800) {
    return fmt::format("{}h ago", seconds / 3600);
  }
  return fmt::format("{}d ago", seconds / 86400);
}

std::string text_of(const json& value) {
  if (value.is_null()) {
    return "-";
  }
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

std::string read_client_token(const std::string& token_file) {
  std::string token;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) {
      throw UsageError(fmt::format("cannot read the token file \"{}\"", token_file));
    }
    std::stringstream text;
    text << in.rdbuf();
    token = text.str();
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
  const ApiClient client = client_for(options);
  const auto body = expect(client, client.request("GET", "/api/v1/targets"), 200);
  if (!body) {
    return 1;
  }
  if (options.json) {
    out << body->dump(2) << '\n';
    return 0;
  }
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

int targets_add_command(const ClientOptions& options, const TargetRecord& target,
                        std::ostream& out) {
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
                       normalize_domain(target.domain), target.port, target.path,
                       text_of(body->value("version", json())));
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
    out << fmt::format("removed {}; targets version {}\n", normalize_domain(domain),
                       text_of(body->value("version", json())));
  }
  return 0;
}

int agents_command(const ClientOptions& options, std::ostream& out) {
  const ApiClient client = client_for(options);
  const auto body = expect(client, client.request("GET", "/api/v1/agents"), 200);
  if (!body) {
    return 1;
  }
  if (options.json) {
    out << body->dump(2) << '\n';
    return 0;
  }
  if (!body->is_array() || body->empty()) {
    out << "no agents have reported yet\n";
    return 0;
  }
  Table rows;
  for (const auto& agent : *body) {
    const std::string last_seen = text_of(agent.value("last_seen", json()));
    rows.push_back({text_of(agent.value("name", json())), last_seen, age_of(last_seen),
                    text_of(agent.value("asn", json())), text_of(agent.value("address", json())),
                    text_of(agent.value("version", json())),
                    text_of(agent.value("uptime_s", json())),
                    text_of(agent.value("spool_depth", json()))});
  }
  print_table(out, {"NAME", "LAST_SEEN", "AGE", "ASN", "ADDRESS", "VERSION", "UPTIME_S", "SPOOL"},
              rows);
  return 0;
}

}  // namespace vantage
