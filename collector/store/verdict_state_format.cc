#include "verdict_state_format.hh"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

namespace vantage {
namespace {

using nlohmann::json;
using Names = std::vector<std::string>;

json parse_object(std::string_view text) {
  json document = json::parse(text, nullptr, false);
  if (!document.is_object()) {
    throw std::invalid_argument("not a JSON object");
  }
  return document;
}

template <typename T>
T field(const json& document, const char* name) {
  const auto found = document.find(name);
  if (found == document.end()) {
    throw std::invalid_argument(fmt::format("missing field \"{}\"", name));
  }
  try {
    return found->get<T>();
  } catch (const json::exception&) {
    throw std::invalid_argument(fmt::format("field \"{}\" has the wrong type", name));
  }
}

template <typename T>
T field_or(const json& document, const char* name, T fallback) {
  return document.contains(name) ? field<T>(document, name) : fallback;
}

}  // namespace

std::string encode_verdict_state(const DomainState& state) {
  return json{{"format", kVerdictStateFormat},
              {"reporting", state.reporting},
              {"usable", state.healthy},
              {"failing", state.failing},
              {"affected_vantages", state.affected_vantages},
              {"affected_asns", state.affected_asns},
              {"affected_networks", state.affected_networks},
              {"isolated", state.isolated_vantages},
              {"establishing", state.establishing_vantages},
              {"stale", state.stale_vantages},
              {"evidence", state.evidence}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

DomainState decode_verdict_state(std::string_view text, const VerdictRecord& record) {
  const json document = parse_object(text);
  if (const auto format = field<int>(document, "format"); format != kVerdictStateFormat) {
    throw std::invalid_argument(
        fmt::format("format {} (this collector reads format {})", format, kVerdictStateFormat));
  }
  DomainState state;
  state.domain = record.domain;
  state.verdict = record.verdict;
  state.scope = record.scope;
  state.since = record.changed_at;
  state.reporting = field<int>(document, "reporting");
  state.healthy = field<int>(document, "usable");
  state.failing = field<int>(document, "failing");
  state.affected_vantages = field<Names>(document, "affected_vantages");
  state.affected_asns = field<std::vector<int64_t>>(document, "affected_asns");
  state.affected_networks = field<Names>(document, "affected_networks");
  state.isolated_vantages = field<Names>(document, "isolated");
  state.establishing_vantages = field<Names>(document, "establishing");
  state.stale_vantages = field<Names>(document, "stale");
  state.evidence = field<Names>(document, "evidence");
  return state;
}

std::string convert_api_document_state(std::string_view text) {
  const json document = parse_object(text);
  DomainState state;
  state.reporting = field<int>(document, "reporting");
  state.healthy = field<int>(document, "healthy");
  state.failing = field<int>(document, "failing");
  state.affected_vantages = field<Names>(document, "affected_vantages");
  state.affected_asns = field<std::vector<int64_t>>(document, "affected_asns");
  state.isolated_vantages = field<Names>(document, "isolated_vantages");
  state.evidence = field<Names>(document, "evidence");
  if (document.contains("affected_networks")) {
    state.affected_networks = field<Names>(document, "affected_networks");
  } else {
    // Collectors before networks were kept counted scope by ASN.
    for (const int64_t asn : state.affected_asns) {
      state.affected_networks.push_back(asn == 0 ? "unknown network" : fmt::format("AS{}", asn));
    }
  }
  state.establishing_vantages = field_or<Names>(document, "establishing_vantages", {});
  state.stale_vantages = field_or<Names>(document, "stale_vantages", {});
  return encode_verdict_state(state);
}

}  // namespace vantage
