#include "alerts.hh"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "alert_payloads.hh"

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

// One alert's latest event on its way to one receiver.
struct Delivery {
  DeliveryState state;
  std::optional<SteadyClock::time_point> next_attempt;  // empty: nothing (more) to send
  int failures_in_a_row = 0;                            // drives the backoff and giving up
  bool in_flight = false;
  // Alertmanager gets an active alert again after giving up, once per resend_interval; the
  // operator hears about it once per event, not once per round.
  bool give_up_reported = false;
};

struct Alert {
  uint64_t id = 0;
  AlertEvent event;
  // Bumped with each event of the alert, so that the reply to a post of the firing event, which
  // may arrive after the alert resolved, is not taken for the delivery of the resolution.
  uint64_t generation = 0;
  std::vector<Delivery> deliveries;  // one per receiver, in configuration order
  bool listed = true;                // false once pushed out of the ended history
};

// One HTTP post in flight; owns what curl reads from and writes to until it is done.
struct Transfer {
  uint64_t alert_id = 0;
  size_t receiver = 0;
  uint64_t generation = 0;
  std::string body;
  std::string reply;
  EasyHandle easy{nullptr, &curl_easy_cleanup};
  HeaderList headers{nullptr, &curl_slist_free_all};
};

}  // namespace

bool raises_alert(Verdict verdict) {
  switch (verdict) {
    case Verdict::RouteLoss:
    case Verdict::DnsFailure:
    case Verdict::DomainVanished:
    case Verdict::ServerDown:
    case Verdict::TlsFailure:
    case Verdict::HttpError:
    case Verdict::Degraded:
      return true;
    case Verdict::Ok:
    case Verdict::Unknown:
    case Verdict::VantageIsolated:
      return false;
  }
  return false;
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
  Impl(std::vector<AlertReceiverConfig> receivers_in, AlertTimingConfig timing_in)
      : receivers(std::move(receivers_in)), timing(timing_in), in_flight(receivers.size(), 0) {
    timing.max_attempts = std::max(timing.max_attempts, 1);
    for (const auto& receiver : receivers) {
      receiver_names.push_back(receiver_name(receiver));
    }
  }

  // --- bookkeeping; the caller holds `mutex` ---

  void accept(const AlertEvent& event) {
    const auto current = active.find(event.domain);
    if (event.resolved_at) {
      if (current == active.end()) {
        spdlog::debug("alerts: {} resolved without an active alert", event.domain);
        return;
      }
      end_alert(current->second, *event.resolved_at, event.resolved_by);
      return;
    }
    if (current != active.end()) {
      Alert& alert = alerts.at(current->second);
      if (alert.event.verdict == event.verdict && alert.event.scope == event.scope) {
        // Still the same alert, with fresher details: alerts() and Alertmanager's next re-send
        // show them; webhook and Slack receivers were told already.
        alert.event.affected_vantages = event.affected_vantages;
        alert.event.affected_asns = event.affected_asns;
        alert.event.affected_networks = event.affected_networks;
        alert.event.evidence = event.evidence;
        return;
      }
      end_alert(current->second, event.since, event.verdict);
    }
    if (raises_alert(event.verdict)) {
      start_alert(event, false);
    }
  }

  void start_alert(const AlertEvent& event, bool receivers_saw_it) {
    Alert alert;
    alert.id = next_id++;
    alert.event = event;
    alert.deliveries.resize(receivers.size());
    const auto now = SteadyClock::now();
    for (size_t i = 0; i < receivers.size(); ++i) {
      Delivery& delivery = alert.deliveries[i];
      delivery.state.receiver = receiver_names[i];
      // Alertmanager forgets an alert that is not re-sent, so it gets even one it saw already.
      if (receivers_saw_it && receivers[i].kind != AlertReceiverConfig::Kind::Alertmanager) {
        delivery.state.state = "delivered";
      } else {
        delivery.next_attempt = now;
      }
    }
    active[event.domain] = alert.id;
    alerts.emplace(alert.id, std::move(alert));
  }

  void end_alert(uint64_t id, TimePoint resolved_at, Verdict resolved_by) {
    Alert& alert = alerts.at(id);
    alert.event.resolved_at = resolved_at;
    alert.event.resolved_by = resolved_by;
    ++alert.generation;
    const auto now = SteadyClock::now();
    for (Delivery& delivery : alert.deliveries) {
      // A post still in flight finishes first (so a receiver sees firing before resolved); its
      // outcome no longer counts for this delivery.
      DeliveryState fresh;
      fresh.receiver = std::move(delivery.state.receiver);
      delivery.state = std::move(fresh);
      delivery.next_attempt = now;
      delivery.failures_in_a_row = 0;
      delivery.give_up_reported = false;
    }
    active.erase(alert.event.domain);
    ended.push_front(id);
    if (ended.size() > kEndedHistory) {
      alerts.at(ended.back()).listed = false;  // start_due() drops it once it is done
      ended.pop_back();
    }
  }

  // An alert out of the history stays until its last post is done, so that a flapping domain
  // cannot make a resolution go unsent.
  static bool can_forget(const Alert& alert) {
    return !alert.listed && std::none_of(alert.deliveries.begin(), alert.deliveries.end(),
                                         [](const Delivery& delivery) {
                                           return delivery.in_flight ||
                                                  delivery.next_attempt.has_value();
                                         });
  }

  std::optional<SteadyClock::time_point> resend_time(const Alert& alert, size_t receiver,
                                                     SteadyClock::time_point now) const {
    if (receivers[receiver].kind == AlertReceiverConfig::Kind::Alertmanager &&
        !alert.event.resolved_at) {
      return now + timing.resend_interval;
    }
    return std::nullopt;
  }

  AlertView view(const Alert& alert) const {
    AlertView view{.id = alert.id, .event = alert.event, .deliveries = {}};
    for (const Delivery& delivery : alert.deliveries) {
      view.deliveries.push_back(delivery.state);
    }
    return view;
  }

  // --- the delivery thread ---

  void run() {
    while (true) {
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

  // Starts every post that is due, drops alerts that are done and out of the history; returns
  // how long until the next post is due.
  std::chrono::milliseconds start_due(SteadyClock::time_point now) {
    auto next = now + kIdleWait;
    for (auto entry = alerts.begin(); entry != alerts.end();) {
      if (can_forget(entry->second)) {
        entry = alerts.erase(entry);
        continue;
      }
      Alert& alert = entry->second;
      ++entry;
      for (size_t i = 0; i < alert.deliveries.size(); ++i) {
        Delivery& delivery = alert.deliveries[i];
        if (!delivery.next_attempt || delivery.in_flight) {
          continue;
        }
        if (*delivery.next_attempt > now) {
          next = std::min(next, *delivery.next_attempt);
          continue;
        }
        if (in_flight[i] < kMaxInFlightPerReceiver) {
          start_post(alert, i);
        }
        // Else the end of one of that receiver's posts wakes the loop.
      }
    }
    return std::chrono::ceil<std::chrono::milliseconds>(next - now);
  }

  void start_post(Alert& alert, size_t receiver) {
    Delivery& delivery = alert.deliveries[receiver];
    delivery.in_flight = true;
    delivery.next_attempt.reset();
    ++delivery.state.attempts;
    delivery.state.last_attempt = std::chrono::system_clock::now();
    ++in_flight[receiver];

    auto transfer = std::make_unique<Transfer>();
    transfer->alert_id = alert.id;
    transfer->receiver = receiver;
    transfer->generation = alert.generation;
    std::string url = receivers[receiver].url;
    switch (receivers[receiver].kind) {
      case AlertReceiverConfig::Kind::Webhook:
        transfer->body = json_text(webhook_payload(alert.event));
        break;
      case AlertReceiverConfig::Kind::Slack:
        transfer->body = json_text(slack_payload(alert.event));
        break;
      case AlertReceiverConfig::Kind::Alertmanager:
        url = alertmanager_alerts_url(url);
        transfer->body = json_text(alertmanager_payload(alert.event));
        break;
    }
    transfer->easy.reset(curl_easy_init());
    transfer->headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
    if (!transfer->easy || !transfer->headers) {
      record_outcome(alert, receiver, alert.generation, "cannot create a curl handle");
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
      // In flight, the alert cannot have been dropped (can_forget).
      record_outcome(alerts.at(transfer.alert_id), transfer.receiver, transfer.generation, failure);
    }
  }

  // The end of a post of event `generation`; `failure` is empty for a delivered one. Caller
  // holds `mutex`.
  void record_outcome(Alert& alert, size_t receiver, uint64_t generation,
                      const std::string& failure) {
    --in_flight[receiver];
    Delivery& delivery = alert.deliveries[receiver];
    delivery.in_flight = false;
    ++(failure.empty() ? counters.deliveries_ok : counters.deliveries_failed);
    if (generation != alert.generation) {
      return;  // a newer event replaced the one posted, and is due already
    }
    const auto now = SteadyClock::now();
    if (failure.empty()) {
      delivery.state.state = "delivered";
      delivery.state.delivered_at = std::chrono::system_clock::now();
      delivery.failures_in_a_row = 0;
      delivery.next_attempt = resend_time(alert, receiver, now);
      return;
    }
    delivery.state.last_error = failure;
    ++delivery.failures_in_a_row;
    if (delivery.failures_in_a_row < timing.max_attempts) {
      spdlog::debug("alerts: {} {} to {} failed ({}); retrying", status_word(alert),
                    alert.event.domain, delivery.state.receiver, failure);
      delivery.state.state = "pending";
      delivery.next_attempt = now + retry_delay(timing, delivery.failures_in_a_row, random);
    } else {
      delivery.state.state = "failed";
      delivery.failures_in_a_row = 0;
      delivery.next_attempt = resend_time(alert, receiver, now);
      if (!delivery.give_up_reported) {
        delivery.give_up_reported = true;
        ++counters.given_up;
        spdlog::error("alerts: gave up sending {} {} {} to {} after {} attempts: {}",
                      status_word(alert), alert.event.domain, to_string(alert.event.verdict),
                      delivery.state.receiver, timing.max_attempts, failure);
      }
    }
  }

  static std::string_view status_word(const Alert& alert) {
    return alert.event.resolved_at ? "resolved" : "firing";
  }

  // On the way out: posts in flight are cut off, and whatever was still to be sent is named in
  // the log, since it is lost with the process.
  void abandon() {
    for (auto& [easy, transfer] : transfers) {
      curl_multi_remove_handle(multi.get(), easy);
    }
    transfers.clear();
    const std::lock_guard lock(mutex);
    for (const auto& [id, alert] : alerts) {
      std::vector<std::string> undelivered;
      for (const Delivery& delivery : alert.deliveries) {
        if (delivery.state.state == "pending") {
          undelivered.push_back(delivery.state.receiver);
        }
      }
      if (!undelivered.empty()) {
        spdlog::warn("alerts: stopping; {} {} {} not delivered to {}", status_word(alert),
                     alert.event.domain, to_string(alert.event.verdict),
                     fmt::join(undelivered, ", "));
      }
    }
  }

  const std::vector<AlertReceiverConfig> receivers;
  std::vector<std::string> receiver_names;
  AlertTimingConfig timing;

  mutable std::mutex mutex;                // guards everything below up to `stopping`
  std::map<uint64_t, Alert> alerts;        // by id, so the oldest are served first
  std::map<std::string, uint64_t> active;  // domain -> id of its active alert
  std::deque<uint64_t> ended;              // the listed ended alerts, newest first
  uint64_t next_id = 1;
  AlertCounters counters;
  std::mt19937_64 random{std::random_device{}()};
  std::vector<int> in_flight;  // posts per receiver
  bool stopping = false;

  // Delivery thread only; declared after `multi` so that the handles go before it.
  MultiHandle multi{curl_multi_init(), &curl_multi_cleanup};
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;
  std::thread worker;
};

AlertDispatcher::AlertDispatcher(std::vector<AlertReceiverConfig> receivers,
                                 AlertTimingConfig timing) {
  global_init();
  impl_ = std::make_unique<Impl>(std::move(receivers), timing);
  if (!impl_->multi) {
    throw std::runtime_error("alerts: cannot create a curl multi handle");
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

void AlertDispatcher::restore(const AlertEvent& event) {
  {
    const std::lock_guard lock(impl_->mutex);
    if (event.resolved_at || !raises_alert(event.verdict)) {
      spdlog::warn("alerts: not restoring {} {}: not an active alert", event.domain,
                   to_string(event.verdict));
      return;
    }
    if (impl_->active.contains(event.domain)) {
      return;  // a live event came first, and it is newer than what was stored
    }
    impl_->start_alert(event, true);
  }
  curl_multi_wakeup(impl_->multi.get());
}

std::vector<AlertView> AlertDispatcher::alerts() const {
  const std::lock_guard lock(impl_->mutex);
  std::vector<uint64_t> active_ids;
  for (const auto& [domain, id] : impl_->active) {
    active_ids.push_back(id);
  }
  std::sort(active_ids.rbegin(), active_ids.rend());
  std::vector<AlertView> views;
  views.reserve(active_ids.size() + impl_->ended.size());
  for (const uint64_t id : active_ids) {
    views.push_back(impl_->view(impl_->alerts.at(id)));
  }
  for (const uint64_t id : impl_->ended) {
    views.push_back(impl_->view(impl_->alerts.at(id)));
  }
  return views;
}

AlertCounters AlertDispatcher::counters() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

}  // namespace vantage
