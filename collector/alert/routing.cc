#include "routing.hh"

#include <algorithm>

#include "muting.hh"

namespace vantage {

bool route_matches(const AlertRoute& route, const AlertEvent& event) {
  const bool domain =
      route.domains.empty() ||
      std::any_of(route.domains.begin(), route.domains.end(), [&](const std::string& pattern) {
        return domain_matches(pattern, event.domain);
      });
  const bool verdict = route.verdicts.empty() ||
                       std::find(route.verdicts.begin(), route.verdicts.end(), event.verdict) !=
                           route.verdicts.end();
  const bool scope = !route.scope || *route.scope == event.scope;
  return domain && verdict && scope;
}

std::vector<RouteChoice> route_alert(const std::vector<AlertRoute>& routes, size_t receivers,
                                     const AlertEvent& event,
                                     std::optional<std::chrono::milliseconds> default_repeat) {
  std::vector<RouteChoice> choices(receivers);
  if (routes.empty()) {
    for (RouteChoice& choice : choices) {
      choice = {true, default_repeat};
    }
    return choices;
  }
  for (const AlertRoute& route : routes) {
    if (!route_matches(route, event)) {
      continue;
    }
    const auto repeat = route.repeat_after ? route.repeat_after : default_repeat;
    for (const size_t receiver : route.receivers) {
      if (receiver >= choices.size()) {
        continue;
      }
      RouteChoice& choice = choices[receiver];
      if (!choice.routed) {
        choice = {true, repeat};
      } else if (repeat && (!choice.repeat_after || *repeat < *choice.repeat_after)) {
        choice.repeat_after = repeat;
      }
    }
    if (!route.continue_matching) {
      break;
    }
  }
  return choices;
}

}  // namespace vantage
