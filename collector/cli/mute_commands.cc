#include "mute_commands.hh"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli_output.hh"
#include "mute_model.hh"
#include "result_json.hh"

namespace vantage {
namespace {

using nlohmann::json;

// "2h", "90m", "1d 2h" for a number of seconds.
std::string span_text(int64_t seconds) {
  const int64_t days = seconds / 86'400;
  const int64_t hours = seconds % 86'400 / 3600;
  const int64_t minutes = seconds % 3600 / 60;
  const int64_t rest = seconds % 60;
  std::string text;
  for (const auto& [value, unit] : {std::pair{days, "d"}, std::pair{hours, "h"},
                                    std::pair{minutes, "m"}, std::pair{rest, "s"}}) {
    if (value != 0) {
      text += fmt::format("{}{}{}", text.empty() ? "" : " ", value, unit);
    }
  }
  return text.empty() ? "0s" : text;
}

// "on until 2026-...", "next 2026-...", or "over".
std::string window_state(const MaintenanceEntry& window) {
  if (window.active_until) {
    return "on until " + format_time(*window.active_until);
  }
  if (window.next_start) {
    return "next " + format_time(*window.next_start);
  }
  return "over";
}

std::string silence_state(const SilenceEntry& silence) {
  if (silence.active) {
    return "on until " + format_time(silence.ends_at);
  }
  if (!silence.expired_by.empty()) {
    return fmt::format("expired by {} at {}", text_of(silence.expired_by),
                       format_time(silence.ends_at));
  }
  return "ended " + format_time(silence.ends_at);
}

// Sends `request` and prints the document the reply holds: as it is with --json, else `line`.
template <typename Document>
int change(const ClientOptions& options, const std::string& method, const std::string& path,
           const std::string& body, long wanted, Document (*read)(const json&),
           const std::function<std::string(const Document&)>& line, std::ostream& out) {
  const ApiClient client = client_for(options);
  const auto reply = expect(client, client.request(method, path, body), wanted);
  if (!reply) {
    return 1;
  }
  if (options.json) {
    out << reply->dump(2) << '\n';
    return 0;
  }
  const auto document = read_reply(options.url, *reply, read);
  if (!document) {
    return 1;
  }
  out << line(*document) << '\n';
  return 0;
}

std::string window_line(const MaintenanceEntry& window) {
  return fmt::format("maintenance window {} for {}: {} for {}{} ({}), {}", window.id,
                     text_of(window.domain), text_of(window.start), span_text(window.duration_s),
                     window.every.empty() ? "" : " every " + text_of(window.every),
                     text_of(window.timezone), window_state(window));
}

std::string silence_line(const SilenceEntry& silence) {
  return fmt::format("silence {} for {}{}: {}", silence.id, text_of(silence.domain),
                     silence.verdict ? fmt::format(" {}", to_string(*silence.verdict)) : "",
                     silence_state(silence));
}

}  // namespace

int maintenance_add_command(const ClientOptions& options, const WindowRequest& window,
                            std::ostream& out) {
  json request = {{"domain", window.domain},     {"start", window.start},
                  {"duration", window.duration}, {"reason", window.reason},
                  {"every", window.every},       {"timezone", window.timezone}};
  return change<MaintenanceEntry>(
      options, "POST", "/api/v1/maintenance", request.dump(), 201, &maintenance_entry_from_json,
      [](const MaintenanceEntry& added) { return "added " + window_line(added); }, out);
}

int maintenance_list_command(const ClientOptions& options, std::ostream& out) {
  const auto fetched =
      fetch_for_humans(options, "/api/v1/maintenance", out, &maintenance_list_from_json);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  if (fetched.document->windows.empty()) {
    out << "no maintenance windows\n";
    return 0;
  }
  Table rows;
  for (const auto& window : fetched.document->windows) {
    rows.push_back({window.id == 0 ? "yaml" : std::to_string(window.id), text_of(window.domain),
                    text_of(window.start), span_text(window.duration_s),
                    window.every.empty() ? "once" : text_of(window.every), text_of(window.timezone),
                    window_state(window), text_of(window.created_by), text_of(window.reason)});
  }
  print_table(out,
              {"ID", "DOMAIN", "START", "DURATION", "EVERY", "TIMEZONE", "STATE", "BY", "REASON"},
              rows);
  return 0;
}

int maintenance_remove_command(const ClientOptions& options, uint64_t id, std::ostream& out) {
  const ApiClient client = client_for(options);
  const auto reply =
      expect(client, client.request("DELETE", fmt::format("/api/v1/maintenance/{}", id)), 200);
  if (!reply) {
    return 1;
  }
  out << (options.json ? reply->dump(2) : fmt::format("removed maintenance window {}", id)) << '\n';
  return 0;
}

int silence_add_command(const ClientOptions& options, const SilenceRequest& silence,
                        std::ostream& out) {
  json request = {
      {"domain", silence.domain}, {"duration", silence.duration}, {"comment", silence.comment}};
  if (!silence.verdict.empty()) {
    request["verdict"] = silence.verdict;
  }
  return change<SilenceEntry>(
      options, "POST", "/api/v1/silences", request.dump(), 201, &silence_entry_from_json,
      [](const SilenceEntry& added) { return "added " + silence_line(added); }, out);
}

int silence_list_command(const ClientOptions& options, std::ostream& out) {
  const auto fetched = fetch_for_humans(options, "/api/v1/silences", out, &silence_list_from_json);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  if (fetched.document->silences.empty()) {
    out << "no silences on now or in the last day\n";
    return 0;
  }
  Table rows;
  for (const auto& silence : fetched.document->silences) {
    rows.push_back({std::to_string(silence.id), text_of(silence.domain),
                    silence.verdict ? std::string(to_string(*silence.verdict)) : "any",
                    silence_state(silence), text_of(silence.created_by), text_of(silence.comment)});
  }
  print_table(out, {"ID", "DOMAIN", "VERDICT", "STATE", "BY", "COMMENT"}, rows);
  return 0;
}

int silence_expire_command(const ClientOptions& options, uint64_t id, std::ostream& out) {
  return change<SilenceEntry>(
      options, "DELETE", fmt::format("/api/v1/silences/{}", id), "", 200, &silence_entry_from_json,
      [](const SilenceEntry& expired) { return "expired " + silence_line(expired); }, out);
}

}  // namespace vantage
