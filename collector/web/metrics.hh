#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alerts.hh"
#include "monitor.hh"
#include "storage.hh"
#include "storage_retention.hh"

namespace vantage {

// The Prometheus text exposition format (version 0.0.4), written family by family.
class MetricsText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string>>;

  // "# HELP" and "# TYPE" lines; call before the family's samples.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Label values escaped as the format wants: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

// Verdict per domain, vantages per domain, agents seen and isolated, correlation counters.
void append_monitor_metrics(MetricsText& metrics, Monitor& monitor,
                            const std::vector<AgentRecord>& agents);
// The latest probe timings of each domain from each vantage with a fresh cycle of it: per check
// (the DNS, TCP and HTTPS layers) success and the slowest probe's time, the HTTPS phases, and the
// earliest leaf certificate expiry. At most 17 series per domain and vantage.
void append_probe_metrics(MetricsText& metrics, const std::vector<Explanation>& explanations);
// The database's size on disk, and what retention pruned (when `retention` is not null).
void append_storage_metrics(MetricsText& metrics, Storage& storage,
                            const StorageRetention* retention);
// vantage_domain_uptime_ratio{domain, window}, for each domain and window with cycles counted.
void append_uptime_metrics(MetricsText& metrics, const std::vector<DomainUptime>& uptime);
// Active alerts and delivery counters.
void append_alert_metrics(MetricsText& metrics, const AlertDispatcher& alerts);

}  // namespace vantage
