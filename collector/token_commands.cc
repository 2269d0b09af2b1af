// The token commands: create, list, rotate and revoke, on the store of collector.yaml. They work
// beside a running collector, which checks every presented token against the store, so a revoked
// token is refused from the next request on.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli.hh"
#include "cli_output.hh"
#include "commands.hh"
#include "result_json.hh"
#include "tokens.hh"

namespace vantage {
namespace {

using Clock = std::chrono::system_clock;

std::string state_of(const TokenRecord& token, TimePoint now) {
  if (!token.expires_at) {
    return "accepted";
  }
  return token.accepted_at(now) ? "accepted until " + format_time(*token.expires_at)
                                : "ended " + format_time(*token.expires_at);
}

nlohmann::json token_json(const TokenRecord& token, TimePoint now) {
  const auto optional_time = [](const std::optional<TimePoint>& time) {
    return time ? nlohmann::json(format_time(*time)) : nlohmann::json(nullptr);
  };
  return {{"name", token.name},
          {"kind", to_string(token.kind)},
          {"created_at", format_time(token.created_at)},
          {"last_used_at", optional_time(token.last_used_at)},
          {"expires_at", optional_time(token.expires_at)},
          {"accepted", token.accepted_at(now)}};
}

void require_valid_name(const std::string& name) {
  if (!is_valid_principal_name(name)) {
    throw UsageError(
        fmt::format("\"{}\" is not a valid name (1-63 letters, digits, '.', '_' or '-')", name));
  }
}

}  // namespace

int token_create_command(const std::string& config_file, const std::string& name,
                         bool operator_token, std::ostream& out, std::ostream& err) {
  require_valid_name(name);
  const CollectorConfig config = load_collector_config(config_file);
  auto storage = open_migrated(config);
  const TokenKind kind = operator_token ? TokenKind::Operator : TokenKind::Agent;
  std::string token;
  try {
    token = create_token(*storage, name, kind, Clock::now());
  } catch (const TokenNameTaken& taken) {
    err << "vantage-collector: " << taken.what() << '\n';
    return 1;
  }
  out << token << '\n';
  out.flush();
  err << fmt::format(
      "created a new {} token for {}. It is shown only this once; only its hash is stored.\n",
      to_string(kind), name);
  return 0;
}

int token_list_command(const std::string& config_file, bool json, std::ostream& out) {
  const CollectorConfig config = load_collector_config(config_file);
  auto storage = open_migrated(config);
  const auto now = Clock::now();
  const auto tokens = storage->tokens();
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& token : tokens) {
      list.push_back(token_json(token, now));
    }
    out << nlohmann::json{{"tokens", list}}.dump(2) << '\n';
    return 0;
  }
  Table rows;
  for (const auto& token : tokens) {
    rows.push_back({token.name, std::string(to_string(token.kind)), format_time(token.created_at),
                    token.last_used_at ? age_of(token.last_used_at) : "never",
                    state_of(token, now)});
  }
  print_table(out, {"NAME", "KIND", "CREATED", "LAST USED", "STATE"}, rows);
  return 0;
}

int token_rotate_command(const std::string& config_file, const std::string& name,
                         std::chrono::seconds grace, std::ostream& out, std::ostream& err) {
  require_valid_name(name);
  const CollectorConfig config = load_collector_config(config_file);
  auto storage = open_migrated(config);
  RotatedToken rotated;
  try {
    rotated = rotate_token(*storage, name, grace, Clock::now());
  } catch (const NoSuchToken& missing) {
    err << "vantage-collector: " << missing.what() << '\n';
    return 1;
  }
  out << rotated.token << '\n';
  out.flush();
  err << fmt::format(
      "created a new {} token for {}. It is shown only this once; only its hash is stored. The "
      "old token{} of {} keep{} working until {}.\n",
      to_string(rotated.kind), name, rotated.replaced == 1 ? "" : "s", name,
      rotated.replaced == 1 ? "s" : "", format_time(rotated.old_until));
  return 0;
}

int token_revoke_command(const std::string& config_file, const std::string& name, std::ostream& out,
                         std::ostream& err) {
  require_valid_name(name);
  const CollectorConfig config = load_collector_config(config_file);
  auto storage = open_migrated(config);
  const size_t ended = revoke_tokens(*storage, name, Clock::now());
  if (ended == 0) {
    err << fmt::format("vantage-collector: {} has no token still accepted: nothing to revoke\n",
                       name);
    return 1;
  }
  out << fmt::format("revoked {} token{} of {}: refused from the next request on\n", ended,
                     ended == 1 ? "" : "s", name);
  return 0;
}

}  // namespace vantage
