#include "vocabulary.hh"

#include <array>
#include <utility>

namespace vantage {
namespace {

template <typename Enum, size_t N>
std::optional<Enum> find_name(const std::array<std::pair<Enum, std::string_view>, N>& names,
                              std::string_view name) {
  for (const auto& [value, spelled] : names) {
    if (spelled == name) {
      return value;
    }
  }
  return std::nullopt;
}

template <typename Enum, size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& names,
                         Enum value) {
  for (const auto& [known, spelled] : names) {
    if (known == value) {
      return spelled;
    }
  }
  return "";
}

constexpr std::array<std::pair<Scope, std::string_view>, 3> kScopes = {
    {{Scope::None, ""}, {Scope::Partial, "partial"}, {Scope::Global, "global"}}};
constexpr std::array<std::pair<TokenKind, std::string_view>, 2> kTokenKinds = {
    {{TokenKind::Agent, "agent"}, {TokenKind::Operator, "operator"}}};
constexpr std::array<std::pair<DeliveryState, std::string_view>, 4> kDeliveryStates = {
    {{DeliveryState::Pending, "pending"},
     {DeliveryState::Delivered, "delivered"},
     {DeliveryState::Failed, "failed"},
     {DeliveryState::Skipped, "skipped"}}};
constexpr std::array<std::pair<AgentState, std::string_view>, 3> kAgentStates = {
    {{AgentState::Ok, "ok"}, {AgentState::Isolated, "isolated"}, {AgentState::Stale, "stale"}}};
constexpr std::array<std::pair<AsnSource, std::string_view>, 4> kAsnSources = {
    {{AsnSource::None, ""},
     {AsnSource::Config, "config"},
     {AsnSource::Lookup, "lookup"},
     {AsnSource::Prefix, "prefix"}}};

}  // namespace

std::string_view to_string(Scope scope) {
  return name_of(kScopes, scope);
}
std::optional<Scope> scope_from_string(std::string_view name) {
  return find_name(kScopes, name);
}
std::string_view to_string(TokenKind kind) {
  return name_of(kTokenKinds, kind);
}
std::optional<TokenKind> token_kind_from_string(std::string_view name) {
  return find_name(kTokenKinds, name);
}
std::string_view to_string(DeliveryState state) {
  return name_of(kDeliveryStates, state);
}
std::optional<DeliveryState> delivery_state_from_string(std::string_view name) {
  return find_name(kDeliveryStates, name);
}
std::string_view to_string(AgentState state) {
  return name_of(kAgentStates, state);
}
std::optional<AgentState> agent_state_from_string(std::string_view name) {
  return find_name(kAgentStates, name);
}
std::string_view to_string(AsnSource source) {
  return name_of(kAsnSources, source);
}
std::optional<AsnSource> asn_source_from_string(std::string_view name) {
  return find_name(kAsnSources, name);
}

std::string_view verdict_meaning(Verdict verdict) {
  switch (verdict) {
    case Verdict::Ok:
      return "every layer is healthy from the usable vantages";
    case Verdict::RouteLoss:
      return "the domain's networks are unreachable: BGP withdrawal or black-holing (DNS fails "
             "because its servers cannot be reached, and the last known addresses are "
             "unreachable too)";
    case Verdict::DnsFailure:
      return "DNS is broken while the domain's networks are reachable";
    case Verdict::DomainVanished:
      return "the name no longer exists (NXDOMAIN, or no delegation from the parent)";
    case Verdict::ServerDown:
      return "DNS and routing are fine, but the service does not accept connections (refused, "
             "or silent while its network answers)";
    case Verdict::TlsFailure:
      return "TCP works, the TLS handshake or certificate fails";
    case Verdict::HttpError:
      return "TLS works, HTTP fails (status, timeout after connect, content check)";
    case Verdict::Degraded:
      return "it works, but slower than its own baseline, or flapping";
    case Verdict::Unknown:
      return "nothing can be said: too few usable vantages, or silence with no evidence about "
             "the network";
    case Verdict::VantageIsolated:
      return "the vantage cannot reach its own control targets: its network is cut off, not "
             "the domain";
  }
  return "";
}

}  // namespace vantage
