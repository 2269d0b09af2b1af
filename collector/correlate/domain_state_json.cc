#include "domain_state_json.hh"

#include <fmt/format.h>

#include <stdexcept>

#include "result_json.hh"

namespace vantage {
namespace {

using nlohmann::json;

template <typename T>
T field(const json& document, const char* name) {
  const auto found = document.find(name);
  if (found == document.end()) {
    throw std::invalid_argument(fmt::format("missing field \"{}\"", name));
  }
  return found->get<T>();
}

// For fields that states stored by an older collector do not have.
template <typename T>
T field_or(const json& document, const char* name, T fallback) {
  const auto found = document.find(name);
  return found == document.end() ? fallback : found->get<T>();
}

Verdict verdict_field(const json& document, const char* name) {
  const auto text = field<std::string>(document, name);
  const auto verdict = verdict_from_string(text);
  if (!verdict) {
    throw std::invalid_argument(fmt::format("{}: unknown verdict \"{}\"", name, text));
  }
  return *verdict;
}

}  // namespace

// "healthy" is kept for the scripts that read it; "usable" says what it counts.
json to_json(const DomainState& state) {
  return {{"domain", state.domain},
          {"verdict", to_string(state.verdict)},
          {"scope", state.scope},
          {"since", format_time(state.since)},
          {"reporting", state.reporting},
          {"healthy", state.healthy},
          {"usable", state.healthy},
          {"failing", state.failing},
          {"affected_vantages", state.affected_vantages},
          {"affected_asns", state.affected_asns},
          {"affected_networks", state.affected_networks},
          {"isolated_vantages", state.isolated_vantages},
          {"establishing_vantages", state.establishing_vantages},
          {"stale_vantages", state.stale_vantages},
          {"evidence", state.evidence}};
}

DomainState domain_state_from_json(const json& document) {
  if (!document.is_object()) {
    throw std::invalid_argument("a domain state must be an object");
  }
  DomainState state;
  state.domain = field<std::string>(document, "domain");
  state.verdict = verdict_field(document, "verdict");
  state.scope = field<std::string>(document, "scope");
  const auto since = parse_time(field<std::string>(document, "since"));
  if (!since) {
    throw std::invalid_argument("since: not an RFC 3339 time");
  }
  state.since = *since;
  state.reporting = field<int>(document, "reporting");
  state.healthy = field<int>(document, "healthy");
  state.failing = field<int>(document, "failing");
  state.affected_vantages = field<std::vector<std::string>>(document, "affected_vantages");
  state.affected_asns = field<std::vector<int64_t>>(document, "affected_asns");
  state.isolated_vantages = field<std::vector<std::string>>(document, "isolated_vantages");
  state.evidence = field<std::vector<std::string>>(document, "evidence");
  using Names = std::vector<std::string>;
  state.affected_networks = field_or<Names>(document, "affected_networks", {});
  if (!document.contains("affected_networks")) {
    for (const int64_t asn : state.affected_asns) {
      state.affected_networks.push_back(asn == 0 ? "unknown network" : fmt::format("AS{}", asn));
    }
  }
  state.establishing_vantages = field_or<Names>(document, "establishing_vantages", {});
  state.stale_vantages = field_or<Names>(document, "stale_vantages", {});
  return state;
}

}  // namespace vantage
