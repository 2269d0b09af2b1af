#include "cycle_summary.hh"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace vantage {
namespace {

using nlohmann::json;

constexpr int kSummaryFormat = 1;

template <typename Enum>
Enum enum_of(const json& name, std::optional<Enum> (*parse)(std::string_view)) {
  const auto parsed = parse(name.get<std::string>());
  if (!parsed) {
    throw std::invalid_argument("unknown name in a stored summary");
  }
  return *parsed;
}

}  // namespace

std::string encode_summary(const VantageCycle& cycle) {
  json failures = json::array();
  for (const auto& failure : cycle.failures) {
    failures.push_back({to_string(failure.check), failure.target, to_string(failure.failure)});
  }
  json evidence = json::array();
  for (const auto& line : cycle.evidence) {
    int64_t probe = -1;
    if (line.probe) {
      const auto found = std::find(cycle.failures.begin(), cycle.failures.end(), *line.probe);
      probe = found == cycle.failures.end() ? -1 : found - cycle.failures.begin();
    }
    evidence.push_back({line.text, probe});
  }
  json summary = json::array({kSummaryFormat, to_string(cycle.verdict), cycle.duration.count(),
                              cycle.latency.count(), std::move(failures), std::move(evidence)});
  if (!cycle.expiring.empty()) {
    json expiring = json::array();
    for (const auto& expiry : cycle.expiring) {
      expiring.push_back({to_string(expiry.kind), expiry.subject,
                          expiry.expires.time_since_epoch().count(), expiry.at, expiry.of,
                          expiry.text});
    }
    summary.push_back(std::move(expiring));
  }
  return summary.dump();
}

VantageCycle decode_summary(std::string_view summary) {
  try {
    const json in = json::parse(summary);
    // A seventh element, the expiry warnings, only when there were any.
    if (!in.is_array() || in.size() < 6 || in.size() > 7 || in[0] != kSummaryFormat) {
      throw std::invalid_argument("not a stored summary of format 1");
    }
    VantageCycle cycle;
    cycle.verdict = enum_of<Verdict>(in[1], &verdict_from_string);
    cycle.duration = std::chrono::microseconds(in[2].get<int64_t>());
    cycle.latency = std::chrono::microseconds(in[3].get<int64_t>());
    for (const auto& failure : in[4]) {
      cycle.failures.push_back({enum_of<Check>(failure.at(0), &check_from_string),
                                failure.at(1).get<std::string>(),
                                enum_of<Failure>(failure.at(2), &failure_from_string)});
    }
    for (const auto& line : in[5]) {
      EvidenceLine evidence{line.at(0).get<std::string>(), std::nullopt};
      const auto probe = line.at(1).get<int64_t>();
      if (probe >= 0 && static_cast<size_t>(probe) < cycle.failures.size()) {
        evidence.probe = cycle.failures[static_cast<size_t>(probe)];
      }
      cycle.evidence.push_back(std::move(evidence));
    }
    if (in.size() == 7) {
      for (const auto& expiry : in[6]) {
        cycle.expiring.push_back(
            {enum_of<ExpiryKind>(expiry.at(0), &expiry_kind_from_string),
             expiry.at(1).get<std::string>(),
             std::chrono::sys_seconds(std::chrono::seconds(expiry.at(2).get<int64_t>())),
             expiry.at(3).get<std::vector<std::string>>(), expiry.at(4).get<int>(),
             expiry.at(5).get<std::string>()});
      }
    }
    return cycle;
  } catch (const json::exception& error) {
    throw std::invalid_argument(std::string("a stored summary that is not one: ") + error.what());
  }
}

}  // namespace vantage
