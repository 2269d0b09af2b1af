#include "mute_model.hh"

#include "json_reader.hh"

namespace vantage {
namespace {

using model_detail::optional_time;
using model_detail::Reader;
using model_detail::text_or_null;
using nlohmann::json;

MaintenanceEntry maintenance_entry(const Reader& read) {
  MaintenanceEntry window;
  window.id = read.get<uint64_t>("id");
  window.domain = read.get<std::string>("domain");
  window.start = read.get<std::string>("start");
  window.duration_s = read.get<int64_t>("duration_s");
  window.every = read.get_or<std::string>("every", "");
  window.timezone = read.get_or<std::string>("timezone", "UTC");
  window.reason = read.get_or<std::string>("reason", "");
  window.created_by = read.get_or<std::string>("created_by", "");
  window.created_at = read.optional_time("created_at");
  window.active_until = read.optional_time("active_until");
  window.next_start = read.optional_time("next_start");
  return window;
}

SilenceEntry silence_entry(const Reader& read) {
  SilenceEntry silence;
  silence.id = read.get<uint64_t>("id");
  silence.domain = read.get<std::string>("domain");
  if (read.has("verdict")) {
    silence.verdict = read.verdict("verdict");
  }
  silence.starts_at = read.time("starts_at");
  silence.ends_at = read.time("ends_at");
  silence.comment = read.get_or<std::string>("comment", "");
  silence.created_by = read.get_or<std::string>("created_by", "");
  silence.created_at = read.time("created_at");
  silence.expired_by = read.get_or<std::string>("expired_by", "");
  silence.active = read.get_or<bool>("active", false);
  return silence;
}

}  // namespace

json to_json(const MaintenanceEntry& window) {
  return {{"id", window.id},
          {"domain", window.domain},
          {"start", window.start},
          {"duration_s", window.duration_s},
          {"every", text_or_null(window.every)},
          {"timezone", window.timezone},
          {"reason", window.reason},
          {"created_by", window.created_by},
          {"created_at", optional_time(window.created_at)},
          {"active_until", optional_time(window.active_until)},
          {"next_start", optional_time(window.next_start)}};
}

MaintenanceEntry maintenance_entry_from_json(const json& document) {
  return maintenance_entry(Reader(document, ""));
}

json to_json(const MaintenanceList& list) {
  json windows = json::array();
  for (const auto& window : list.windows) {
    windows.push_back(to_json(window));
  }
  return {{"windows", std::move(windows)}};
}

MaintenanceList maintenance_list_from_json(const json& document) {
  MaintenanceList list;
  for (const Reader& item : Reader(document, "").objects("windows")) {
    list.windows.push_back(maintenance_entry(item));
  }
  return list;
}

json to_json(const SilenceEntry& silence) {
  return {{"id", silence.id},
          {"domain", silence.domain},
          {"verdict", silence.verdict ? json(to_string(*silence.verdict)) : json(nullptr)},
          {"starts_at", format_time(silence.starts_at)},
          {"ends_at", format_time(silence.ends_at)},
          {"comment", silence.comment},
          {"created_by", silence.created_by},
          {"created_at", format_time(silence.created_at)},
          {"expired_by", text_or_null(silence.expired_by)},
          {"active", silence.active}};
}

SilenceEntry silence_entry_from_json(const json& document) {
  return silence_entry(Reader(document, ""));
}

json to_json(const SilenceList& list) {
  json silences = json::array();
  for (const auto& silence : list.silences) {
    silences.push_back(to_json(silence));
  }
  return {{"silences", std::move(silences)}};
}

SilenceList silence_list_from_json(const json& document) {
  SilenceList list;
  for (const Reader& item : Reader(document, "").objects("silences")) {
    list.silences.push_back(silence_entry(item));
  }
  return list;
}

}  // namespace vantage
