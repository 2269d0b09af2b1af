#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "alert_store.hh"

// Which receivers get an alert: the part of Alertmanager's routing tree Vantage needs. Routes are
// tried in order; the first that matches decides, unless it says `continue`, and then the next
// matching ones add their receivers too. Without routes every receiver gets every alert.
namespace vantage {

struct AlertRoute {
  std::vector<std::string> domains;  // shell patterns ("*.shop.example"); none: any domain
  std::vector<Verdict> verdicts;     // none: any verdict
  std::optional<Scope> scope;        // none: any scope
  std::vector<size_t> receivers;     // positions in collector.yaml's alerts list
  bool continue_matching = false;
  // Re-send a still-firing alert to this route's webhook and Slack receivers this often (none:
  // alerting.repeat_after). Alertmanager repeats by itself.
  std::optional<std::chrono::milliseconds> repeat_after;
};

// Does the route take this alert?
bool route_matches(const AlertRoute& route, const AlertEvent& event);

// For one receiver: whether it gets the alert and, if so, how often to repeat it (none: never).
struct RouteChoice {
  bool routed = false;
  std::optional<std::chrono::milliseconds> repeat_after;
};

// One choice per receiver. A receiver that several matching routes name repeats at the shortest
// of their intervals.
std::vector<RouteChoice> route_alert(const std::vector<AlertRoute>& routes, size_t receivers,
                                     const AlertEvent& event,
                                     std::optional<std::chrono::milliseconds> default_repeat);

}  // namespace vantage
