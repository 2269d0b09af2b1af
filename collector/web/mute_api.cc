#include "mute_api.hh"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "api_input.hh"
#include "duration.hh"
#include "mute_model.hh"
#include "muting.hh"
#include "printable.hh"
#include "result_json.hh"

namespace vantage {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// The longest silence: one meant for longer is a maintenance window, or a target to remove.
constexpr seconds kLongestSilence = std::chrono::days(90);
// How long an ended silence stays in the list.
constexpr seconds kEndedSilencesShown = std::chrono::hours(24);

std::string text_field(const json& body, const char* name, bool required) {
  const auto found = body.find(name);
  if (found == body.end() || found->is_null()) {
    if (required) {
      throw ApiError(422, fmt::format("{}: missing", name));
    }
    return "";
  }
  if (!found->is_string()) {
    throw ApiError(422, fmt::format("{}: not a string", name));
  }
  return found->get<std::string>();
}

// "2h", "90m", "7d" -> seconds; 422 naming the field otherwise.
seconds duration_field(const json& body) {
  const std::string text = text_field(body, "duration", true);
  auto parsed = parse_period(text);
  if (!parsed) {
    parsed = parse_duration(text);
  }
  if (!parsed || *parsed < seconds(1)) {
    throw ApiError(
        422, fmt::format("duration: \"{}\" is not a duration like 30m, 2h or 7d", printable(text)));
  }
  return std::chrono::duration_cast<seconds>(*parsed);
}

// A domain, or a pattern of them ("*.shop.example", "*"), as the collector keys domains.
std::string domain_field(const json& body) {
  const std::string domain = text_field(body, "domain", true);
  auto pattern = canonical_domain_pattern(domain);
  if (!pattern) {
    throw ApiError(422, fmt::format("domain: \"{}\" is not a domain name, an IP address, a "
                                    "pattern such as *.shop.example, or *",
                                    printable(domain)));
  }
  return std::move(*pattern);
}

uint64_t id_argument(const std::string& text) {
  uint64_t id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size() || id == 0) {
    throw ApiError(400, fmt::format("\"{}\" is not an id", printable(text)));
  }
  return id;
}

// Local time, to the second, as a window's start: "2026-12-01T02:00:00".
std::string local_text(const TimeZone& zone, TimePoint instant) {
  const auto local = zone.to_local(instant);
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const std::chrono::year_month_day date(day);
  const std::chrono::hh_mm_ss time(local - day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count());
}

MaintenanceEntry window_entry(const MaintenanceWindow& window, TimePoint now) {
  MaintenanceEntry entry{.id = window.id,
                         .domain = window.domain,
                         .start = window.start,
                         .duration_s = window.duration.count(),
                         .every = format_weekdays(window.weekdays),
                         .timezone = window.timezone,
                         .reason = window.reason,
                         .created_by = window.created_by,
                         .created_at = window.created_at,
                         .active_until = {},
                         .next_start = {}};
  if (const auto zone = TimeZone::load(window.timezone)) {
    if (const auto current = current_occurrence(window, *zone, now)) {
      entry.active_until = current->end;
    }
    if (const auto next = next_occurrence(window, *zone, now)) {
      entry.next_start = next->start;
    }
  }
  return entry;
}

SilenceEntry silence_entry(const Silence& silence, TimePoint now) {
  return SilenceEntry{.id = silence.id,
                      .domain = silence.domain,
                      .verdict = silence.verdict,
                      .starts_at = silence.starts_at,
                      .ends_at = silence.ends_at,
                      .comment = silence.comment,
                      .created_by = silence.created_by,
                      .created_at = silence.created_at,
                      .expired_by = silence.expired_by,
                      .active = silence.starts_at <= now && now < silence.ends_at};
}

}  // namespace

MuteReply MuteApi::list_windows() const {
  const auto now = std::chrono::system_clock::now();
  MaintenanceList list;
  for (const MaintenanceWindow& window : alerts_.windows()) {
    list.windows.push_back(window_entry(window, now));
  }
  return {200, to_json(list)};
}

MuteReply MuteApi::add_window(const std::string& body_text, const std::string& operator_name) {
  const json body = parse_json_body(body_text);
  if (!body.is_object()) {
    throw ApiError(422, "the body is not a JSON object");
  }
  const auto now = std::chrono::system_clock::now();
  MaintenanceWindow window;
  window.domain = domain_field(body);
  window.duration = duration_field(body);
  window.timezone = text_field(body, "timezone", false);
  if (window.timezone.empty()) {
    window.timezone = "UTC";
  }
  if (const std::string every = text_field(body, "every", false); !every.empty()) {
    const auto weekdays = parse_weekdays(every);
    if (!weekdays) {
      throw ApiError(422, fmt::format("every: \"{}\" is not a list of days like Mon,Thu or daily",
                                      printable(every)));
    }
    window.weekdays = *weekdays;
  }
  window.start = text_field(body, "start", true);
  const auto zone = TimeZone::load(window.timezone);
  if (window.start == "now" && zone) {
    if (window.weekdays != 0) {
      throw ApiError(422, "start: \"now\" is for a window that happens once; give a time of day");
    }
    // In UTC: a local time in the hour clocks repeat would read back as its first occurrence.
    window.timezone = "UTC";
    window.start = local_text(TimeZone::utc(), now);
  }
  window.reason = text_field(body, "reason", true);
  if (window.reason.empty()) {
    throw ApiError(422, "reason: say why, for whoever is on call when it starts");
  }
  window.created_by = operator_name;
  window.created_at = now;
  if (const auto problem = window_problem(window)) {
    throw ApiError(422, *problem);
  }
  window.id = alerts_.add_window(window);
  const MaintenanceEntry entry = window_entry(window, now);
  spdlog::info("operator {} added maintenance window {} for {}: {} for {}s{} ({}); reason: {}",
               operator_name, window.id, printable(window.domain), printable(window.start),
               window.duration.count(),
               window.weekdays != 0 ? " every " + format_weekdays(window.weekdays) : "",
               window.timezone, printable(window.reason));
  return {201, to_json(entry)};
}

MuteReply MuteApi::remove_window(const std::string& id_text, const std::string& operator_name) {
  const uint64_t id = id_argument(id_text);
  if (!alerts_.remove_window(id)) {
    throw ApiError(404, fmt::format("no maintenance window {} (windows from collector.yaml are "
                                    "removed there)",
                                    id));
  }
  spdlog::info("operator {} removed maintenance window {}", operator_name, id);
  return {200, {{"id", id}}};
}

MuteReply MuteApi::list_silences() const {
  const auto now = std::chrono::system_clock::now();
  SilenceList list;
  for (const Silence& silence : alerts_.silences(now - kEndedSilencesShown)) {
    list.silences.push_back(silence_entry(silence, now));
  }
  return {200, to_json(list)};
}

MuteReply MuteApi::add_silence(const std::string& body_text, const std::string& operator_name) {
  const json body = parse_json_body(body_text);
  if (!body.is_object()) {
    throw ApiError(422, "the body is not a JSON object");
  }
  const auto now = std::chrono::system_clock::now();
  Silence silence;
  silence.domain = domain_field(body);
  if (const std::string verdict = text_field(body, "verdict", false); !verdict.empty()) {
    silence.verdict = verdict_from_string(verdict);
    if (!silence.verdict) {
      throw ApiError(422, fmt::format("verdict: \"{}\" is not a verdict such as ROUTE_LOSS",
                                      printable(verdict)));
    }
  }
  const seconds duration = duration_field(body);
  if (duration > kLongestSilence) {
    throw ApiError(422,
                   "duration: a silence lasts at most 90 days; plan longer work as a "
                   "maintenance window");
  }
  silence.comment = text_field(body, "comment", true);
  if (silence.comment.empty()) {
    throw ApiError(422, "comment: say why, for whoever is on call next");
  }
  silence.starts_at = now;
  silence.ends_at = now + duration;
  silence.created_by = operator_name;
  silence.created_at = now;
  silence.id = alerts_.add_silence(silence);
  spdlog::info("operator {} silenced {}{} until {} (silence {}): {}", operator_name,
               printable(silence.domain),
               silence.verdict ? fmt::format(" {}", to_string(*silence.verdict)) : "",
               format_time(silence.ends_at), silence.id, printable(silence.comment));
  return {201, to_json(silence_entry(silence, now))};
}

MuteReply MuteApi::expire_silence(const std::string& id_text, const std::string& operator_name) {
  const uint64_t id = id_argument(id_text);
  const auto now = std::chrono::system_clock::now();
  if (!alerts_.expire_silence(id, now, operator_name)) {
    throw ApiError(404, fmt::format("no silence {} still on", id));
  }
  spdlog::info("operator {} expired silence {}", operator_name, id);
  for (const Silence& silence : alerts_.silences(now - kEndedSilencesShown)) {
    if (silence.id == id) {
      return {200, to_json(silence_entry(silence, now))};
    }
  }
  return {200, {{"id", id}}};
}

}  // namespace vantage
