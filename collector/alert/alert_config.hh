#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

// The alert settings of collector.yaml, as the dispatcher takes them.
namespace vantage {

struct AlertReceiverConfig {
  enum class Kind : uint8_t { Webhook, Slack, Alertmanager };
  AlertReceiverConfig() = default;
  AlertReceiverConfig(Kind kind_in, std::string url_in, std::string name_in = "")
      : kind(kind_in), url(std::move(url_in)), name(std::move(name_in)) {}

  Kind kind = Kind::Webhook;
  std::string url;
  std::string name;  // what routes call it; empty: only routes-less configs reach it
};

// When alerts are re-sent and retried; the same for every receiver.
struct AlertTimingConfig {
  // An active alert goes to Alertmanager again this often, so that Alertmanager never resolves
  // it on its own (its resolve_timeout) while the domain is still failing.
  std::chrono::milliseconds resend_interval{60'000};
  // A failed delivery is retried with exponential backoff and full jitter from this...
  std::chrono::milliseconds retry_initial{1'000};
  // ...up to this,
  std::chrono::milliseconds retry_max{300'000};
  // ...and given up (state "failed", logged) after this many attempts.
  int max_attempts = 10;
  std::chrono::milliseconds request_timeout{10'000};
  // A still-firing alert goes to webhook and Slack receivers again this often (none: once);
  // a route's repeat_after overrides it for its receivers.
  std::optional<std::chrono::milliseconds> repeat_after;
  // Where operators reach the collector ("https://vantage.example.org:8470"): alerts link to
  // the domain's page there. Empty: no links.
  std::string external_url;
};

std::string_view to_string(AlertReceiverConfig::Kind kind);

}  // namespace vantage
