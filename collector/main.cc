#include <fmt/format.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli.hh"
#include "cli_client.hh"
#include "client_file.hh"
#include "command_line.hh"
#include "commands.hh"
#include "config_node.hh"
#include "duration.hh"
#include "mute_commands.hh"
#include "storage.hh"

namespace {

// The client commands' options. --url, --ca and --token-file are read into `given`, so that
// after parsing resolve_client_options can tell a flag from the environment and the client file.
void add_client_options(CLI::App* command, vantage::ClientOptions& options,
                        vantage::ClientOptions& given) {
  command->add_option("--url", given.url,
                      fmt::format("The collector's URL (default: $VANTAGE_URL, else {})",
                                  vantage::kDefaultCollectorUrl));
  command->add_option("--token-file", given.token_file,
                      "File holding an operator token (default: $VANTAGE_TOKEN, else the client "
                      "file's token_file)");
  command
      ->add_option("--ca", given.ca_file,
                   "CA certificate(s) to trust for a TLS collector (default: $VANTAGE_CA)")
      ->check(CLI::ExistingFile);
  command->add_flag("--json", options.json, "Print stable JSON instead of a table");
}

// --grace of token rotate: "24h", "7d", "30m", "0s".
std::chrono::seconds grace_period(const std::string& text) {
  auto period = vantage::parse_period(text);
  if (!period) {
    period = vantage::parse_duration(text);
  }
  if (!period) {
    throw vantage::UsageError(
        fmt::format("--grace \"{}\" is not a period like 24h, 7d, 30m or 0s", text));
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*period);
}

int run(int argc, char** argv) {
  // The log goes to stderr: stdout is for what a command prints (a token, a table, JSON).
  spdlog::set_default_logger(spdlog::stderr_color_mt("vantage-collector"));
  spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug also logs every accepted batch
  CLI::App app{"vantage-collector: receives, stores and serves the vantages' results"};
  app.set_version_flag("--version", VANTAGE_VERSION);
  app.require_subcommand(1);

  std::string config_file;
  auto* serve = app.add_subcommand("serve", "Run the collector daemon");
  serve->add_option("--config", config_file, "collector.yaml")->required();
  std::string log_level;
  vantage::add_log_level_option(serve, log_level);

  auto* check = app.add_subcommand("check-config", "Check collector.yaml and exit");
  check->add_option("--config", config_file, "collector.yaml")->required();

  auto* token = app.add_subcommand("token", "Manage API tokens");
  token->require_subcommand(1);
  auto* token_create =
      token->add_subcommand("create", "Create a token for NAME and print it, once");
  std::string token_name;
  bool operator_token = false;
  token_create->add_option("NAME", token_name, "The agent's name (or the operator's)")->required();
  token_create->add_option("--config", config_file, "collector.yaml")->required();
  token_create->add_flag("--operator", operator_token,
                         "An operator token (targets, agents) instead of an agent token");
  auto* token_list =
      token->add_subcommand("list", "Every token: name, kind, created, last used, state");
  token_list->add_option("--config", config_file, "collector.yaml")->required();
  bool token_json = false;
  token_list->add_flag("--json", token_json, "Print stable JSON instead of a table");
  auto* token_rotate = token->add_subcommand(
      "rotate", "Print a new token for NAME; the old one keeps working for the grace period");
  token_rotate->add_option("NAME", token_name, "The agent's name (or the operator's)")->required();
  token_rotate->add_option("--config", config_file, "collector.yaml")->required();
  std::string grace = "24h";
  token_rotate
      ->add_option("--grace", grace, "How long the old token keeps working (0s: not at all)")
      ->capture_default_str();
  auto* token_revoke =
      token->add_subcommand("revoke", "End every token of NAME now; its requests get 401");
  token_revoke->add_option("NAME", token_name, "The agent's name (or the operator's)")->required();
  token_revoke->add_option("--config", config_file, "collector.yaml")->required();

  auto* db = app.add_subcommand("db", "The store itself, read beside a running collector");
  db->require_subcommand(1);
  auto* db_stats = db->add_subcommand(
      "stats", "Rows, bytes and oldest entry per table; what retention removes next");
  bool db_json = false;
  db_stats->add_option("--config", config_file, "collector.yaml")->required();
  db_stats->add_flag("--json", db_json, "Print stable JSON instead of a table");

  vantage::ClientOptions client;
  vantage::ClientOptions given;  // --url, --ca and --token-file as typed
  given.url.clear();
  auto* targets = app.add_subcommand("targets", "List, add or remove the probed targets");
  targets->require_subcommand(1);
  auto* targets_list = targets->add_subcommand("list", "List the targets");
  add_client_options(targets_list, client, given);
  auto* targets_add = targets->add_subcommand("add", "Add (or replace) a target");
  vantage::TargetArguments target;
  targets_add
      ->add_option("TARGET", target.target,
                   "DOMAIN or ADDRESS (HTTPS), or https://HOST[:PORT]/PATH, "
                   "http://HOST[:PORT]/PATH, tcp://HOST:PORT")
      ->required();
  targets_add->add_option("--port", target.port, "Port (default: the target's, else 443 or 80)")
      ->check(CLI::Range(1, 65535));
  targets_add->add_option("--path", target.path, "HTTP path (default: the target's, else /)");
  targets_add->add_option("--expect-status", target.expect_status,
                          "Accepted HTTP statuses (default: any 2xx or 3xx)");
  targets_add->add_option("--body-regex", target.body_regex,
                          "A regular expression the body must match");
  targets_add->add_option("--ca-file", target.ca_file,
                          "CA bundle on the agents: the only CA trusted for this target");
  targets_add->add_flag("--insecure", target.insecure, "Do not verify the certificate");
  targets_add->add_option("--warn-certificate", target.warn_certificate,
                          "Warn of a certificate expiring within this period (default 14d; 0d: "
                          "never)");
  targets_add->add_option("--warn-signature", target.warn_signature,
                          "Warn of DNSSEC signatures expiring within this period (default 3d; "
                          "0d: never)");
  add_client_options(targets_add, client, given);
  auto* targets_remove = targets->add_subcommand("remove", "Remove a target");
  std::string remove_domain;
  targets_remove->add_option("DOMAIN", remove_domain, "The domain")->required();
  add_client_options(targets_remove, client, given);

  auto* agents = app.add_subcommand(
      "agents", "List the agents: when they last reported, ASN, isolated or not");
  add_client_options(agents, client, given);

  auto* status = app.add_subcommand("status", "Every domain's verdict, scope and since when");
  add_client_options(status, client, given);
  std::string domain;
  auto* explain = app.add_subcommand(
      "explain", "Why a domain has its verdict: evidence and every vantage's reading");
  explain->add_option("DOMAIN", domain, "The domain")->required();
  add_client_options(explain, client, given);
  auto* history = app.add_subcommand("history", "A domain's verdict changes");
  history->add_option("DOMAIN", domain, "The domain")->required();
  std::string since = "24h";
  history->add_option("--since", since, "How far back: a duration (1h, 30m) or an RFC 3339 time")
      ->capture_default_str();
  add_client_options(history, client, given);
  auto* alerts = app.add_subcommand("alerts", "Alerts and their delivery to each receiver");
  add_client_options(alerts, client, given);

  auto* maintenance = app.add_subcommand(
      "maintenance", "Maintenance windows: alerts are recorded, not sent, while one is on");
  maintenance->require_subcommand(1);
  vantage::WindowRequest window;
  bool all_domains = false;
  auto* maintenance_add = maintenance->add_subcommand("add", "Add a maintenance window");
  maintenance_add->add_option("DOMAIN", window.domain,
                              "A domain or a pattern such as *.shop.example");
  maintenance_add->add_flag("--all", all_domains, "Every domain");
  maintenance_add
      ->add_option("--start", window.start,
                   "now, a local date and time (2026-12-01T02:00), or with --every a time of day")
      ->required();
  maintenance_add->add_option("--duration", window.duration, "How long: 30m, 2h, 1d")->required();
  maintenance_add->add_option("--every", window.every, "Recur on these days: Mon,Thu or daily");
  maintenance_add->add_option("--timezone", window.timezone,
                              "The time zone of --start (default UTC), e.g. Europe/Berlin");
  maintenance_add->add_option("--reason", window.reason, "Why, for whoever is on call")->required();
  add_client_options(maintenance_add, client, given);
  auto* maintenance_list = maintenance->add_subcommand("list", "List the maintenance windows");
  add_client_options(maintenance_list, client, given);
  uint64_t mute_id = 0;
  auto* maintenance_remove =
      maintenance->add_subcommand("remove", "Remove a maintenance window by its ID");
  maintenance_remove->add_option("ID", mute_id, "The window's ID")->required();
  add_client_options(maintenance_remove, client, given);

  auto* silence = app.add_subcommand(
      "silence", "Silences: mute a domain's alerts for a while without hiding them");
  silence->require_subcommand(1);
  vantage::SilenceRequest silence_request;
  auto* silence_add = silence->add_subcommand("add", "Silence a domain's alerts");
  silence_add
      ->add_option("DOMAIN", silence_request.domain, "A domain, a pattern, or * for every domain")
      ->required();
  silence_add->add_option("--verdict", silence_request.verdict,
                          "Only this verdict, e.g. ROUTE_LOSS (default: any)");
  silence_add->add_option("--for", silence_request.duration, "How long: 30m, 4h, 2d")->required();
  silence_add->add_option("--comment", silence_request.comment, "Why, for whoever is on call next")
      ->required();
  add_client_options(silence_add, client, given);
  auto* silence_list =
      silence->add_subcommand("list", "List the silences on now or ended in the last day");
  add_client_options(silence_list, client, given);
  auto* silence_expire = silence->add_subcommand("expire", "End a silence now");
  silence_expire->add_option("ID", mute_id, "The silence's ID")->required();
  add_client_options(silence_expire, client, given);

  if (const auto exit_code = vantage::parse_command_line(app, argc, argv)) {
    return *exit_code;
  }
  vantage::apply_log_level(log_level);

  // Only the client commands read the environment and the client file (a broken one is exit 2).
  const auto client_options = [&] {
    vantage::ClientOptions options = vantage::resolve_client_options(given);
    options.json = client.json;
    return options;
  };
  try {
    if (serve->parsed()) {
      return vantage::serve_command(config_file);
    }
    if (check->parsed()) {
      return vantage::check_config_command(config_file, std::cout);
    }
    if (token_create->parsed()) {
      return vantage::token_create_command(config_file, token_name, operator_token, std::cout,
                                           std::cerr);
    }
    if (token_list->parsed()) {
      return vantage::token_list_command(config_file, token_json, std::cout);
    }
    if (token_rotate->parsed()) {
      return vantage::token_rotate_command(config_file, token_name, grace_period(grace), std::cout,
                                           std::cerr);
    }
    if (token_revoke->parsed()) {
      return vantage::token_revoke_command(config_file, token_name, std::cout, std::cerr);
    }
    if (db_stats->parsed()) {
      return vantage::db_stats_command(config_file, db_json, std::cout);
    }
    if (targets_list->parsed()) {
      return vantage::targets_list_command(client_options(), std::cout);
    }
    if (targets_add->parsed()) {
      return vantage::targets_add_command(client_options(), target, std::cout);
    }
    if (targets_remove->parsed()) {
      return vantage::targets_remove_command(client_options(), remove_domain, std::cout);
    }
    if (agents->parsed()) {
      return vantage::agents_command(client_options(), std::cout);
    }
    if (status->parsed()) {
      return vantage::status_command(client_options(), std::cout);
    }
    if (explain->parsed()) {
      return vantage::explain_command(client_options(), domain, std::cout);
    }
    if (history->parsed()) {
      return vantage::history_command(client_options(), domain, since, std::cout);
    }
    if (alerts->parsed()) {
      return vantage::alerts_command(client_options(), std::cout);
    }
    if (maintenance_add->parsed()) {
      if (all_domains == !window.domain.empty()) {
        throw vantage::UsageError("maintenance add: give either DOMAIN or --all");
      }
      if (all_domains) {
        window.domain = "*";
      }
      return vantage::maintenance_add_command(client_options(), window, std::cout);
    }
    if (maintenance_list->parsed()) {
      return vantage::maintenance_list_command(client_options(), std::cout);
    }
    if (maintenance_remove->parsed()) {
      return vantage::maintenance_remove_command(client_options(), mute_id, std::cout);
    }
    if (silence_add->parsed()) {
      return vantage::silence_add_command(client_options(), silence_request, std::cout);
    }
    if (silence_list->parsed()) {
      return vantage::silence_list_command(client_options(), std::cout);
    }
    if (silence_expire->parsed()) {
      return vantage::silence_expire_command(client_options(), mute_id, std::cout);
    }
  } catch (const vantage::ConfigError& error) {
    fmt::print(stderr, "{}\n", error.what());
    return 2;
  } catch (const vantage::UsageError& error) {
    fmt::print(stderr, "vantage-collector: {}\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    // ClientError (the collector could not be asked), StorageError, a port in use: the command
    // was right but failed.
    fmt::print(stderr, "vantage-collector: {}\n", error.what());
    return 1;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (...) {
    return 1;  // not a std::exception: there is no message to add
  }
}
