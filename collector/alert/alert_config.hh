#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

// The alert settings of collector.yaml, as the dispatcher takes them.
namespace vantage {

struct AlertReceiverConfig {
  enum class Kind : uint8_t { Webhook, Slack, Alertmanager };
  Kind kind = Kind::Webhook;
  std::string url;
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
};

std::string_view to_string(AlertReceiverConfig::Kind kind);

}  // namespace vantage
