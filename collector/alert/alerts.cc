#include "alerts.hh"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "alert_payloads.hh"
#include "result_json.hh"

namespace vantage {

std::string_view to_string(AlertReceiverConfig::Kind kind) {
  switch (kind) {
    case AlertReceiverConfig::Kind::Webhook:
      return "webhook";
    case AlertReceiverConfig::Kind::Slack:
      return "slack";
    case AlertReceiverConfig::Kind::Alertmanager:
      return "alertmanager";
  }
  return "?";
}
namespace {

using SteadyClock = std::chrono::steady_clock;
using EasyHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using MultiHandle = std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;
using UrlHandle = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

constexpr size_t kEndedHistory = 200;
// Posts in flight to one receiver at a time; more wait their turn, so that a storm of verdict
// changes does not open hundreds of connections to one webhook.
constexpr int kMaxInFlightPerReceiver = 4;
// The loop wakes at least this often even with nothing due; notify() wakes it at once anyway.
constexpr std::chrono::milliseconds kIdleWait{60'000};
// Enough of an error reply to show why (Alertmanager explains a 400 in its body).
constexpr size_t kMaxReplyBytes = 512;
// Windows and silences another collector sharing the database added are read this often.
constexpr std::chrono::seconds kMuteRefresh{60};

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// CURLOPT_WRITEFUNCTION: keeps the start of the reply for error messages, swallows the rest.
size_t keep_reply_start(char* data, size_t size, size_t count, void* user) {
  auto* reply = static_cast<std::string*>(user);
  const size_t bytes = size * count;
  reply->append(data, std::min(bytes, kMaxReplyBytes - std::min(kMaxReplyBytes, reply->size())));
  return bytes;
}

// "" for success, else what alerts() and the logs show: "HTTP 500", "HTTP 400: bad alert",
// "curl 7: Couldn't connect to server".
std::string describe_failure(CURLcode code, long status, const std::string& reply) {
  if (code != CURLE_OK) {
    return fmt::format("curl {}: {}", static_cast<int>(code), curl_easy_strerror(code));
  }
  if (status >= 200 && status < 300) {
    return "";
  }
  std::string first_line = reply.substr(0, reply.find_first_of("\r\n"));
  // It ends up in logs and in the API's JSON, which must not get a receiver's stray bytes.
  std::replace_if(
      first_line.begin(), first_line.end(), [](char c) { return c < ' ' || c > '~'; }, '?');
  if (first_line.empty()) {
    return fmt::format("HTTP {}", status);
  }
  return fmt::format("HTTP {}: {}", status, first_line);
}

std::string json_text(const nlohmann::json& json) {
  // Evidence and vantage names come from agents; a stray byte that is not UTF-8 must not make
  // dump() throw on the delivery thread.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One event of one alert on its way to one receiver: what the store has, and when to try next.
struct Delivery {
  DeliveryRecord record;
  std::optional<SteadyClock::time_point> next_attempt;  // empty: nothing (more) to send now
  int failures_in_a_row = 0;                            // drives the backoff and giving up
  bool in_flight = false;
  // Alertmanager gets an active alert again after giving up, once per resend_interval; the
  // operator hears about it once per event, not once per round.
  bool give_up_reported = false;
  // A maintenance window or silence holds this firing back; it is tried again when that ends.
  bool held = false;
};

// One alert with one receiver.
struct Slot {
  // The routes send the alert to this receiver (or it took the firing before they changed);
  // an unrouted slot has no deliveries and sends nothing.
  bool routed = true;
  std::optional<std::chrono::milliseconds> repeat_after;  // webhook and Slack reminders
  Delivery firing;
  std::optional<Delivery> resolve;  // once the alert ended
};

// An alert with something still to send, or still firing.
struct Alert {
  uint64_t id = 0;  // in the store; 0 if storing it failed (it is still sent)
  AlertEvent event;
  std::vector<Slot> slots;  // one per receiver, in configuration order
};

// One HTTP post in flight; owns what curl reads from and writes to until it is done.
struct Transfer {
  uint64_t key = 0;
  size_t receiver = 0;
  AlertEventKind kind = AlertEventKind::Firing;
  std::string body;
  std::string reply;
  EasyHandle easy{nullptr, &curl_easy_cleanup};
  HeaderList headers{nullptr, &curl_slist_free_all};
};

// Two receivers of one kind and URL (up to the credentials) need names of their own in the store.
std::vector<std::string> unique_receiver_names(const std::vector<AlertReceiverConfig>& receivers) {
  std::vector<std::string> names;
  std::map<std::string, int> seen;
  for (const auto& receiver : receivers) {
    std::string name = receiver_name(receiver);
    if (const int count = ++seen[name]; count > 1) {
      name += fmt::format(" #{}", count);
    }
    names.push_back(std::move(name));
  }
  return names;
}

DeliveryRecord new_record(uint64_t alert_id, const std::string& receiver, AlertEventKind kind,
                          DeliveryState state = DeliveryState::Pending) {
  DeliveryRecord record;
  record.alert_id = alert_id;
  record.receiver = receiver;
  record.event = kind;
  record.state = state;
  return record;
}

const DeliveryRecord* find_record(const StoredAlert& alert, const std::string& receiver,
                                  AlertEventKind kind) {
  for (const auto& record : alert.deliveries) {
    if (record.receiver == receiver && record.event == kind) {
      return &record;
    }
  }
  return nullptr;
}

}  // namespace

bool raises_alert(Verdict verdict) {
  return is_failure(verdict) || verdict == Verdict::Degraded;
}

std::chrono::milliseconds retry_ceiling(const AlertTimingConfig& timing, int failed_attempts) {
  auto ceiling = timing.retry_initial;
  // Doubling stops at retry_max, so it cannot overflow however many attempts are configured.
  for (int failure = 1; failure < failed_attempts && ceiling < timing.retry_max; ++failure) {
    ceiling *= 2;
  }
  return std::min(ceiling, timing.retry_max);
}

std::chrono::milliseconds retry_delay(const AlertTimingConfig& timing, int failed_attempts,
                                      std::mt19937_64& random) {
  using Rep = std::chrono::milliseconds::rep;
  const Rep ceiling = std::max<Rep>(retry_ceiling(timing, failed_attempts).count(), 0);
  return std::chrono::milliseconds(std::uniform_int_distribution<Rep>(0, ceiling)(random));
}

std::string receiver_name(const AlertReceiverConfig& receiver) {
  const std::string kind(to_string(receiver.kind));
  const UrlHandle url(curl_url(), &curl_url_cleanup);
  if (!url || curl_url_set(url.get(), CURLUPART_URL, receiver.url.c_str(), 0) != CURLUE_OK) {
    return kind + " (invalid URL)";
  }
  for (const CURLUPart secret :
       {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_QUERY, CURLUPART_FRAGMENT}) {
    curl_url_set(url.get(), secret, nullptr, 0);
  }
  if (receiver.kind == AlertReceiverConfig::Kind::Slack) {
    curl_url_set(url.get(), CURLUPART_PATH, "/", 0);
  }
  char* text = nullptr;
  if (curl_url_get(url.get(), CURLUPART_URL, &text, 0) != CURLUE_OK) {
    return kind + " (invalid URL)";
  }
  std::string name = kind + " " + text;
  curl_free(text);
  return name;
}

struct AlertDispatcher::Impl {
  Impl(std::vector<AlertReceiverConfig> receivers_in, AlertTimingConfig timing_in,
       AlertStore& store_in, std::vector<MaintenanceWindow> configured_windows_in,
       std::vector<AlertRoute> routes_in)
      : receivers(std::move(receivers_in)),
        receiver_names(unique_receiver_names(receivers)),
        timing(std::move(timing_in)),
        store(store_in),
        configured_windows(std::move(configured_windows_in)),
        routes(std::move(routes_in)),
        in_flight(receivers.size(), 0) {
    timing.max_attempts = std::max(timing.max_attempts, 1);
  }

  // --- maintenance windows and silences ---

  // Reads them from the store (the caller does not hold `mutex`), then puts them in force and
  // lets every held firing be looked at again. A failure keeps the rules in force and is logged.
  void refresh_mutes() {
    // One refresh at a time (the API's and the delivery thread's), so that an older read never
    // replaces a newer one.
    const std::lock_guard refreshing(refresh_mutex);
    std::vector<MaintenanceWindow> windows = configured_windows;
    std::vector<Silence> silences;
    try {
      auto stored = store.windows();
      windows.insert(windows.end(), stored.begin(), stored.end());
      silences = store.silences(std::chrono::system_clock::now());
    } catch (const StorageError& error) {
      spdlog::error("alerts: maintenance windows and silences not read: {}", error.what());
      const std::lock_guard lock(mutex);
      mutes_read = SteadyClock::now();  // the rules in force stay; tried again in kMuteRefresh
      return;
    }
    auto rules = std::make_shared<const MuteRules>(windows, std::move(silences));
    const std::lock_guard lock(mutex);
    mutes = std::move(rules);
    mutes_read = SteadyClock::now();
    for (auto& [key, alert] : alerts) {
      if (alert.event.resolved_at) {
        continue;  // an ended alert's held firing is never sent
      }
      for (Slot& slot : alert.slots) {
        if (slot.firing.held) {
          slot.firing.next_attempt = mutes_read;
        }
      }
    }
  }

  std::shared_ptr<const MuteRules> current_mutes() const {
    const std::lock_guard lock(mutex);
    return mutes;
  }

  // A firing due now that no receiver took yet waits while a window or silence covers its alert:
  // true if it does, and then it is tried again when that ends. Caller holds `mutex`.
  bool hold(const Alert& alert, const AlertReceiverConfig& receiver, Delivery& firing,
            SteadyClock::time_point now) {
    // Alertmanager's keep-alive of a firing it has always goes (it would resolve the alert by
    // itself otherwise); a first firing and a reminder wait.
    if (alert.event.resolved_at ||
        (firing.record.delivered_at && receiver.kind == AlertReceiverConfig::Kind::Alertmanager)) {
      return false;
    }
    const auto wall_now = std::chrono::system_clock::now();
    const auto mute = mutes->mute_for(alert.event.domain, alert.event.verdict, wall_now);
    if (!mute) {
      if (firing.held) {
        firing.held = false;
        spdlog::info("alerts: {} {} no longer held back; sending it to {}", alert.event.domain,
                     to_string(alert.event.verdict), firing.record.receiver);
      }
      return false;
    }
    if (!firing.held) {
      firing.held = true;
      spdlog::info("alerts: {} {} held back from {} by {} {} until {} ({}: {})", alert.event.domain,
                   to_string(alert.event.verdict), firing.record.receiver, to_string(mute->kind),
                   mute->id, format_time(mute->until), mute->by, mute->why);
    }
    firing.next_attempt = now + std::chrono::ceil<std::chrono::milliseconds>(
                                    std::max(mute->until - wall_now, TimePoint::duration::zero()));
    return true;
  }

  // --- the store; a failure is logged and delivery goes on from memory ---

  void save(const std::vector<DeliveryRecord>& records) {
    std::vector<DeliveryRecord> stored;
    std::copy_if(records.begin(), records.end(), std::back_inserter(stored),
                 [](const DeliveryRecord& record) { return record.alert_id != 0; });
    try {
      store.save_deliveries(stored);
    } catch (const StorageError& error) {
      ++counters.not_stored;
      spdlog::error("alerts: delivery state not stored: {}", error.what());
    }
  }

  void save_alert(const Alert& alert, const std::vector<DeliveryRecord>& records) {
    if (alert.id == 0) {
      return;
    }
    try {
      store.update_alert(alert.id, alert.event, records);
    } catch (const StorageError& error) {
      ++counters.not_stored;
      spdlog::error("alerts: alert {} of {} not stored: {}", alert.id, alert.event.domain,
                    error.what());
    }
  }

  // --- bookkeeping; the caller holds `mutex` ---

  // After a restart: the alerts the store has still firing, or with a resolve not yet sent.
  void take_up(const std::vector<StoredAlert>& unfinished) {
    const auto now = SteadyClock::now();
    size_t firing = 0;
    size_t resolves = 0;
    for (const StoredAlert& stored : unfinished) {
      Alert alert{.id = stored.id, .event = stored.event, .slots = {}};
      std::vector<DeliveryRecord> changed;
      const bool active = !stored.event.resolved_at;
      bool busy = false;
      const auto choices = route_alert(routes, receivers.size(), stored.event, timing.repeat_after);
      for (size_t i = 0; i < receivers.size(); ++i) {
        Slot slot;
        const DeliveryRecord* firing_record =
            find_record(stored, receiver_names[i], AlertEventKind::Firing);
        slot.repeat_after = choices[i].repeat_after;
        // A receiver the routes no longer name keeps what it took (it still gets the resolve);
        // a firing it had not taken yet is not sent to it any more.
        if (!choices[i].routed && (firing_record == nullptr || !firing_record->delivered_at)) {
          slot.routed = false;
          if (firing_record != nullptr && firing_record->state != DeliveryState::Skipped) {
            DeliveryRecord dropped = *firing_record;
            dropped.state = DeliveryState::Skipped;
            changed.push_back(std::move(dropped));
          }
          alert.slots.push_back(std::move(slot));
          continue;
        }
        slot.firing.record =
            firing_record != nullptr
                ? *firing_record
                : new_record(alert.id, receiver_names[i], AlertEventKind::Firing,
                             active ? DeliveryState::Pending : DeliveryState::Skipped);
        if (firing_record == nullptr) {
          changed.push_back(slot.firing.record);
        }
        if (active) {
          // Alertmanager forgets an alert that is not re-sent, so it gets even one it took.
          if (slot.firing.record.state != DeliveryState::Delivered ||
              receivers[i].kind == AlertReceiverConfig::Kind::Alertmanager) {
            slot.firing.next_attempt = now;
            busy = true;
          } else if (slot.repeat_after && slot.firing.record.delivered_at) {
            // The reminder is due a repeat interval after the last delivery, restart or not.
            const auto due = *slot.firing.record.delivered_at + *slot.repeat_after -
                             std::chrono::system_clock::now();
            slot.firing.next_attempt = now + std::chrono::ceil<std::chrono::milliseconds>(std::max(
                                                 due, std::chrono::system_clock::duration::zero()));
          }
        } else if (const DeliveryRecord* resolve_record =
                       find_record(stored, receiver_names[i], AlertEventKind::Resolve)) {
          slot.resolve.emplace();
          slot.resolve->record = *resolve_record;
          if (resolve_record->state == DeliveryState::Pending) {
            if (slot.firing.record.delivered_at) {
              slot.resolve->next_attempt = now;
              busy = true;
              ++resolves;
            } else {
              // The firing was on its way when the collector stopped: whether it arrived is
              // unknown, and a resolve without it is never sent.
              slot.firing.record.state = DeliveryState::Skipped;
              slot.resolve->record.state = DeliveryState::Skipped;
              changed.push_back(slot.firing.record);
              changed.push_back(slot.resolve->record);
            }
          }
        }
        alert.slots.push_back(std::move(slot));
      }
      save(changed);
      if (active) {
        ++firing;
        active_alerts[alert.event.domain] = next_key;
      }
      if (active || busy) {
        alerts.emplace(next_key++, std::move(alert));
      }
    }
    if (firing + resolves > 0) {
      spdlog::info("alerts: took up {} firing alert(s) and {} resolve(s) still to send", firing,
                   resolves);
    }
  }

  void accept(const AlertEvent& event) {
    const auto current = active_alerts.find(event.domain);
    if (event.resolved_at) {
      if (current == active_alerts.end()) {
        spdlog::debug("alerts: {} resolved without an active alert", event.domain);
        return;
      }
      end_alert(alerts.at(current->second), event);
      return;
    }
    if (current != active_alerts.end()) {
      Alert& alert = alerts.at(current->second);
      if (alert.event.verdict == event.verdict && alert.event.scope == event.scope) {
        // Still the same alert, with fresher details: alerts() and Alertmanager's next re-send
        // show them; webhook and Slack receivers were told already.
        alert.event.affected_vantages = event.affected_vantages;
        alert.event.affected_asns = event.affected_asns;
        alert.event.affected_networks = event.affected_networks;
        alert.event.evidence = event.evidence;
        save_alert(alert, {});
        return;
      }
      AlertEvent ending = alert.event;
      ending.resolved_at = event.since;
      ending.resolved_by = ResolvedBy::VerdictChange;
      ending.resolved_to = event.verdict;
      end_alert(alert, ending);
    }
    if (raises_alert(event.verdict)) {
      start_alert(event);
    }
  }

  void start_alert(const AlertEvent& event) {
    Alert alert{.id = 0, .event = event, .slots = {}};
    const auto choices = route_alert(routes, receivers.size(), event, timing.repeat_after);
    std::vector<DeliveryRecord> records;
    for (size_t i = 0; i < receivers.size(); ++i) {
      if (choices[i].routed) {
        records.push_back(new_record(0, receiver_names[i], AlertEventKind::Firing));
      }
    }
    if (records.empty() && !receivers.empty()) {
      spdlog::warn("alerts: no route sends {} {} ({}) to any receiver", event.domain,
                   to_string(event.verdict), to_string(event.scope));
    }
    try {
      alert.id = store.insert_alert(event, records);
    } catch (const StorageError& error) {
      ++counters.not_stored;
      spdlog::error("alerts: the alert of {} is sent but not stored: {}", event.domain,
                    error.what());
    }
    const auto now = SteadyClock::now();
    auto record = records.begin();
    for (const RouteChoice& choice : choices) {
      Slot slot;
      slot.routed = choice.routed;
      slot.repeat_after = choice.repeat_after;
      if (choice.routed) {
        record->alert_id = alert.id;
        slot.firing.record = std::move(*record++);
        slot.firing.next_attempt = now;
      }
      alert.slots.push_back(std::move(slot));
    }
    active_alerts[event.domain] = next_key;
    alerts.emplace(next_key++, std::move(alert));
  }

  // `ending` is the alert's event with resolved_at, resolved_by and resolved_to set.
  void end_alert(Alert& alert, const AlertEvent& ending) {
    alert.event.resolved_at = ending.resolved_at;
    alert.event.resolved_by = ending.resolved_by;
    alert.event.resolved_to = ending.resolved_to;
    const auto now = SteadyClock::now();
    std::vector<DeliveryRecord> records;
    for (Slot& slot : alert.slots) {
      if (!slot.routed) {
        continue;
      }
      Delivery& firing = slot.firing;
      Delivery resolve;
      resolve.record = new_record(alert.id, firing.record.receiver, AlertEventKind::Resolve);
      firing.next_attempt.reset();  // no more retries, re-sends or held firings
      firing.held = false;
      if (firing.record.delivered_at) {
        resolve.next_attempt = now;
      } else if (!firing.in_flight) {
        // The receiver never took the firing: it gets neither.
        firing.record.state = DeliveryState::Skipped;
        resolve.record.state = DeliveryState::Skipped;
      }
      // Else the firing's outcome decides (record_outcome).
      records.push_back(firing.record);
      records.push_back(resolve.record);
      slot.resolve = std::move(resolve);
    }
    save_alert(alert, records);
    active_alerts.erase(alert.event.domain);
  }

  static bool done(const Alert& alert) {
    return alert.event.resolved_at &&
           std::none_of(alert.slots.begin(), alert.slots.end(), [](const Slot& slot) {
             const auto busy = [](const Delivery& delivery) {
               return delivery.in_flight || delivery.next_attempt.has_value();
             };
             return busy(slot.firing) || (slot.resolve && busy(*slot.resolve));
           });
  }

  // When a firing goes again while the alert is active: Alertmanager's keep-alive, or the
  // route's reminder to a webhook or Slack receiver.
  std::optional<SteadyClock::time_point> resend_time(const Alert& alert, size_t receiver,
                                                     SteadyClock::time_point now) const {
    if (alert.event.resolved_at) {
      return std::nullopt;
    }
    if (receivers[receiver].kind == AlertReceiverConfig::Kind::Alertmanager) {
      return now + timing.resend_interval;
    }
    if (const auto& repeat = alert.slots[receiver].repeat_after) {
      return now + *repeat;
    }
    return std::nullopt;
  }

  // --- the delivery thread ---

  void run() {
    while (true) {
      if (SteadyClock::now() - current_mute_time() >= kMuteRefresh) {
        refresh_mutes();
      }
      int running = 0;
      curl_multi_perform(multi.get(), &running);
      collect_finished();
      std::chrono::milliseconds wait{};
      {
        const std::lock_guard lock(mutex);
        if (stopping) {
          break;
        }
        wait = start_due(SteadyClock::now());
      }
      // Returns early for curl's own timers, sockets, and curl_multi_wakeup() from notify().
      curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(wait.count()), nullptr);
    }
    abandon();
  }

  // Starts every post that is due, forgets alerts that are done; returns how long until the
  // next post is due.
  std::chrono::milliseconds start_due(SteadyClock::time_point now) {
    auto next = now + kIdleWait;
    for (auto entry = alerts.begin(); entry != alerts.end();) {
      if (done(entry->second)) {
        entry = alerts.erase(entry);
        continue;
      }
      const uint64_t key = entry->first;
      Alert& alert = entry->second;
      ++entry;
      for (size_t i = 0; i < alert.slots.size(); ++i) {
        Slot& slot = alert.slots[i];
        for (const auto kind : {AlertEventKind::Firing, AlertEventKind::Resolve}) {
          Delivery* delivery = kind == AlertEventKind::Firing ? &slot.firing
                               : slot.resolve                 ? &*slot.resolve
                                                              : nullptr;
          // A resolve waits for a post of the firing still out, so it never arrives first.
          if (delivery == nullptr || !delivery->next_attempt || delivery->in_flight ||
              (kind == AlertEventKind::Resolve && slot.firing.in_flight)) {
            continue;
          }
          if (*delivery->next_attempt > now ||
              (kind == AlertEventKind::Firing && hold(alert, receivers[i], *delivery, now))) {
            next = std::min(next, *delivery->next_attempt);
            continue;
          }
          if (in_flight[i] < kMaxInFlightPerReceiver) {
            start_post(key, alert, i, kind);
          }
          // Else the end of one of that receiver's posts wakes the loop.
        }
      }
    }
    return std::chrono::ceil<std::chrono::milliseconds>(next - now);
  }

  void start_post(uint64_t key, Alert& alert, size_t receiver, AlertEventKind kind) {
    Slot& slot = alert.slots[receiver];
    Delivery& delivery = kind == AlertEventKind::Firing ? slot.firing : *slot.resolve;
    delivery.in_flight = true;
    delivery.next_attempt.reset();
    ++delivery.record.attempts;
    // A re-send of a delivered firing is on record once it failed (record_outcome): while it is
    // out, last_attempt still says when the delivery that stands was made.
    if (!delivery.record.delivered_at || kind != AlertEventKind::Firing) {
      delivery.record.last_attempt = std::chrono::system_clock::now();
    }
    ++in_flight[receiver];
    // Stored before it goes out: after a crash the attempt is on record.
    save({delivery.record});

    AlertEvent event = alert.event;
    if (kind == AlertEventKind::Firing) {
      event.resolved_at.reset();
    }
    auto transfer = std::make_unique<Transfer>();
    transfer->key = key;
    transfer->receiver = receiver;
    transfer->kind = kind;
    std::string url = receivers[receiver].url;
    const std::string page = domain_page_url(timing.external_url, event.domain);
    switch (receivers[receiver].kind) {
      case AlertReceiverConfig::Kind::Webhook:
        transfer->body = json_text(webhook_payload(event, page));
        break;
      case AlertReceiverConfig::Kind::Slack:
        transfer->body = json_text(slack_payload(event, page));
        break;
      case AlertReceiverConfig::Kind::Alertmanager:
        url = alertmanager_alerts_url(url);
        transfer->body = json_text(alertmanager_payload(event, page));
        break;
    }
    transfer->easy.reset(curl_easy_init());
    transfer->headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
    if (!transfer->easy || !transfer->headers) {
      record_outcome(alert, receiver, kind, "cannot create a curl handle");
      return;
    }
    // No "Expect: 100-continue": a receiver that ignores it would cost a second per post.
    curl_slist_append(transfer->headers.get(), "Expect:");
    CURL* easy = transfer->easy.get();
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, transfer->body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(transfer->body.size()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers.get());
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "vantage-collector/" VANTAGE_VERSION);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timing.request_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &keep_reply_start);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer->reply);
    curl_multi_add_handle(multi.get(), easy);
    transfers.emplace(easy, std::move(transfer));
  }

  void collect_finished() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &left)) {
      if (message->msg != CURLMSG_DONE) {
        continue;
      }
      // The message does not survive curl_multi_remove_handle.
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(multi.get(), easy);
      auto node = transfers.extract(easy);
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      const Transfer& transfer = *node.mapped();
      const std::string failure = describe_failure(code, status, transfer.reply);
      const std::lock_guard lock(mutex);
      // In flight, the alert cannot have been forgotten (done()).
      record_outcome(alerts.at(transfer.key), transfer.receiver, transfer.kind, failure);
    }
  }

  // The end of a post; `failure` is empty for a delivered one (a 2xx answer). Caller holds
  // `mutex`.
  void record_outcome(Alert& alert, size_t receiver, AlertEventKind kind,
                      const std::string& failure) {
    --in_flight[receiver];
    Slot& slot = alert.slots[receiver];
    Delivery& delivery = kind == AlertEventKind::Firing ? slot.firing : *slot.resolve;
    delivery.in_flight = false;
    ++(failure.empty() ? counters.deliveries_ok : counters.deliveries_failed);
    const auto now = SteadyClock::now();
    const bool ended = alert.event.resolved_at.has_value();
    std::vector<DeliveryRecord> changed;
    if (failure.empty()) {
      delivery.record.state = DeliveryState::Delivered;
      delivery.record.delivered_at = std::chrono::system_clock::now();
      delivery.failures_in_a_row = 0;
      delivery.next_attempt = kind == AlertEventKind::Firing && !ended
                                  ? resend_time(alert, receiver, now)
                                  : std::nullopt;
      if (kind == AlertEventKind::Firing && ended && slot.resolve &&
          slot.resolve->record.state == DeliveryState::Pending && !slot.resolve->in_flight) {
        slot.resolve->next_attempt = now;  // it waited for this post of the firing
      }
    } else {
      delivery.record.last_error = failure;
      ++delivery.failures_in_a_row;
      if (kind == AlertEventKind::Firing && ended) {
        if (!delivery.record.delivered_at) {
          // The alert ended while its firing was out, and the receiver did not take it.
          delivery.record.state = DeliveryState::Skipped;
          if (slot.resolve && slot.resolve->record.state == DeliveryState::Pending) {
            slot.resolve->record.state = DeliveryState::Skipped;
            slot.resolve->next_attempt.reset();
            changed.push_back(slot.resolve->record);
          }
        }
      } else if (kind == AlertEventKind::Firing && delivery.record.delivered_at) {
        // A reminder or an Alertmanager keep-alive failed: the firing itself was delivered and
        // stays so (last_attempt and last_error say what the re-send met); retried, then re-sent
        // when due.
        delivery.record.last_attempt = std::chrono::system_clock::now();
        const bool again = delivery.failures_in_a_row < timing.max_attempts;
        if (!again) {
          delivery.failures_in_a_row = 0;
        }
        delivery.next_attempt = again
                                    ? now + retry_delay(timing, delivery.failures_in_a_row, random)
                                    : resend_time(alert, receiver, now);
        if (delivery.failures_in_a_row == 1) {
          spdlog::warn("alerts: re-sending the firing of {} to {} failed ({}); it was delivered {}",
                       alert.event.domain, delivery.record.receiver, failure,
                       format_time(*delivery.record.delivered_at));
        }
      } else if (delivery.failures_in_a_row < timing.max_attempts) {
        spdlog::debug("alerts: {} of {} to {} failed ({}); retrying", event_word(kind),
                      alert.event.domain, delivery.record.receiver, failure);
        delivery.record.state = DeliveryState::Pending;
        delivery.next_attempt = now + retry_delay(timing, delivery.failures_in_a_row, random);
      } else {
        delivery.record.state = DeliveryState::Failed;
        delivery.failures_in_a_row = 0;
        delivery.next_attempt =
            kind == AlertEventKind::Firing ? resend_time(alert, receiver, now) : std::nullopt;
        if (!delivery.give_up_reported) {
          delivery.give_up_reported = true;
          ++counters.given_up;
          spdlog::error("alerts: gave up sending the {} of {} {} to {} after {} attempts: {}",
                        event_word(kind), alert.event.domain, to_string(alert.event.verdict),
                        delivery.record.receiver, timing.max_attempts, failure);
        }
      }
    }
    changed.insert(changed.begin(), delivery.record);
    save(changed);
  }

  static std::string_view event_word(AlertEventKind kind) {
    return kind == AlertEventKind::Firing ? "firing" : "resolve";
  }

  // On the way out: posts in flight are cut off; what was still to be sent stays pending in the
  // store, and the next start sends it.
  void abandon() {
    for (auto& [easy, transfer] : transfers) {
      curl_multi_remove_handle(multi.get(), easy);
    }
    transfers.clear();
    const std::lock_guard lock(mutex);
    for (const auto& [key, alert] : alerts) {
      std::vector<std::string> undelivered;
      for (const Slot& slot : alert.slots) {
        if (!slot.routed) {
          continue;
        }
        const Delivery& latest = slot.resolve ? *slot.resolve : slot.firing;
        if (latest.record.state == DeliveryState::Pending) {
          undelivered.push_back(latest.record.receiver);
        }
      }
      if (!undelivered.empty()) {
        spdlog::warn(
            "alerts: stopping; {} of {} {} not delivered yet to {}; the next start sends it",
            alert.event.resolved_at ? "resolve" : "firing", alert.event.domain,
            to_string(alert.event.verdict), fmt::join(undelivered, ", "));
      }
    }
  }

  AlertView view(const StoredAlert& stored) const {
    AlertView view{.id = stored.id, .event = stored.event, .deliveries = {}, .muted = {}};
    std::vector<std::string> names = receiver_names;
    for (const auto& record : stored.deliveries) {
      if (std::find(names.begin(), names.end(), record.receiver) == names.end()) {
        names.push_back(record.receiver);
      }
    }
    for (const auto& name : names) {
      const DeliveryRecord* firing = find_record(stored, name, AlertEventKind::Firing);
      if (firing == nullptr) {
        continue;  // a receiver configured after the alert ended
      }
      const DeliveryRecord* resolve = find_record(stored, name, AlertEventKind::Resolve);
      view.deliveries.push_back(ReceiverDeliveries{
          .receiver = name,
          .firing = *firing,
          .resolve = resolve != nullptr ? std::optional(*resolve) : std::nullopt});
    }
    return view;
  }

  SteadyClock::time_point current_mute_time() const {
    const std::lock_guard lock(mutex);
    return mutes_read;
  }

  const std::vector<AlertReceiverConfig> receivers;
  const std::vector<std::string> receiver_names;  // as the store names them
  AlertTimingConfig timing;
  AlertStore& store;
  const std::vector<MaintenanceWindow> configured_windows;
  const std::vector<AlertRoute> routes;

  std::mutex refresh_mutex;  // one refresh_mutes() at a time
  mutable std::mutex mutex;  // guards everything below up to `stopping`
  // By a key of this run, so the oldest are served first.
  std::map<uint64_t, Alert> alerts;
  std::map<std::string, uint64_t> active_alerts;  // domain -> key of its active alert
  uint64_t next_key = 1;
  AlertCounters counters;
  std::mt19937_64 random{std::random_device{}()};
  std::vector<int> in_flight;  // posts per receiver
  bool stopping = false;
  std::shared_ptr<const MuteRules> mutes = std::make_shared<const MuteRules>();
  SteadyClock::time_point mutes_read;

  // Delivery thread only; declared after `multi` so that the handles go before it.
  MultiHandle multi{curl_multi_init(), &curl_multi_cleanup};
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;
  std::thread worker;
};

AlertDispatcher::AlertDispatcher(std::vector<AlertReceiverConfig> receivers,
                                 AlertTimingConfig timing, AlertStore& store,
                                 std::vector<MaintenanceWindow> configured_windows,
                                 std::vector<AlertRoute> routes) {
  global_init();
  impl_ = std::make_unique<Impl>(std::move(receivers), std::move(timing), store,
                                 std::move(configured_windows), std::move(routes));
  if (!impl_->multi) {
    throw std::runtime_error("alerts: cannot create a curl multi handle");
  }
  impl_->refresh_mutes();
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->take_up(store.unfinished());
  }
  impl_->worker = std::thread([impl = impl_.get()] { impl->run(); });
}

AlertDispatcher::~AlertDispatcher() {
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi.get());
  impl_->worker.join();
}

void AlertDispatcher::notify(const AlertEvent& event) {
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->accept(event);
  }
  curl_multi_wakeup(impl_->multi.get());
}

void AlertDispatcher::target_removed(const std::string& domain, TimePoint at, TimePoint horizon) {
  try {
    impl_->store.record_target_removed(domain, horizon);
  } catch (const StorageError& error) {
    spdlog::error("alerts: the removal of {} not stored: {}", domain, error.what());
  }
  {
    const std::lock_guard lock(impl_->mutex);
    const auto active = impl_->active_alerts.find(domain);
    if (active == impl_->active_alerts.end()) {
      return;
    }
    Alert& alert = impl_->alerts.at(active->second);
    AlertEvent ending = alert.event;
    ending.resolved_at = at;
    ending.resolved_by = ResolvedBy::TargetRemoved;
    impl_->end_alert(alert, ending);
  }
  curl_multi_wakeup(impl_->multi.get());
}

std::map<std::string, TimePoint> AlertDispatcher::removed_targets() {
  return impl_->store.removed_targets();
}

uint64_t AlertDispatcher::add_window(const MaintenanceWindow& window) {
  const uint64_t id = impl_->store.add_window(window);
  impl_->refresh_mutes();
  curl_multi_wakeup(impl_->multi.get());
  return id;
}

bool AlertDispatcher::remove_window(uint64_t id) {
  const bool removed = impl_->store.remove_window(id);
  impl_->refresh_mutes();
  curl_multi_wakeup(impl_->multi.get());
  return removed;
}

std::vector<MaintenanceWindow> AlertDispatcher::windows() const {
  std::vector<MaintenanceWindow> windows = impl_->configured_windows;
  auto stored = impl_->store.windows();
  windows.insert(windows.end(), stored.begin(), stored.end());
  return windows;
}

uint64_t AlertDispatcher::add_silence(const Silence& silence) {
  const uint64_t id = impl_->store.add_silence(silence);
  impl_->refresh_mutes();
  curl_multi_wakeup(impl_->multi.get());
  return id;
}

bool AlertDispatcher::expire_silence(uint64_t id, TimePoint at, const std::string& by) {
  const bool expired = impl_->store.expire_silence(id, at, by);
  impl_->refresh_mutes();
  curl_multi_wakeup(impl_->multi.get());
  return expired;
}

std::vector<Silence> AlertDispatcher::silences(TimePoint since) const {
  return impl_->store.silences(since);
}

std::optional<Mute> AlertDispatcher::mute_for(const std::string& domain, Verdict verdict,
                                              TimePoint now) const {
  return impl_->current_mutes()->mute_for(domain, verdict, now);
}

size_t AlertDispatcher::receiver_count() const {
  return impl_->receivers.size();
}

std::vector<AlertView> AlertDispatcher::alerts() const {
  std::vector<AlertView> views;
  const auto mutes = impl_->current_mutes();
  const auto now = std::chrono::system_clock::now();
  for (const StoredAlert& stored : impl_->store.recent(kEndedHistory)) {
    views.push_back(impl_->view(stored));
    if (!stored.event.resolved_at) {
      views.back().muted = mutes->mute_for(stored.event.domain, stored.event.verdict, now);
    }
  }
  return views;
}

AlertCounters AlertDispatcher::counters() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

}  // namespace vantage
