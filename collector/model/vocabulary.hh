#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "result.hh"

// The collector's closed sets, with the one spelling each has in the API, the database and the
// alert payloads. Each *_from_string is nullopt for a name outside the set: the caller says where
// it came from.
namespace vantage {

// How much of the fleet a verdict holds for: None for OK and UNKNOWN, Partial for some networks,
// Global when a quorum in more than one network agrees. Spelled "", "partial", "global".
enum class Scope : uint8_t { None, Partial, Global };
std::string_view to_string(Scope scope);
std::optional<Scope> scope_from_string(std::string_view name);

// Who a token is for: an agent uploads results; an operator reads verdicts and edits targets.
enum class TokenKind : uint8_t { Agent, Operator };
std::string_view to_string(TokenKind kind);
std::optional<TokenKind> token_kind_from_string(std::string_view name);

// Where one event of an alert stands with one receiver.
//   pending    not sent yet, or waiting for a retry
//   delivered  the receiver answered 2xx
//   failed     given up after the configured attempts (retried after a restart while firing)
//   skipped    never to be sent: a firing the alert ended before the receiver took it, and the
//              resolve of such an alert (a receiver never gets a resolve without its firing)
enum class DeliveryState : uint8_t { Pending, Delivered, Failed, Skipped };
std::string_view to_string(DeliveryState state);
std::optional<DeliveryState> delivery_state_from_string(std::string_view name);

// An agent as `agents` shows it: its readings count (ok), it fails its own control targets
// (isolated), or it has been silent for more than two intervals (stale).
enum class AgentState : uint8_t { Ok, Isolated, Stale };
std::string_view to_string(AgentState state);
std::optional<AgentState> agent_state_from_string(std::string_view name);

// Where an agent's ASN, or the network it counts in, comes from: its agent.asn (config), the
// collector's ASN database (lookup), its source /24 or /48 when there is no ASN (prefix), or
// nowhere (none). Spelled "config", "lookup", "prefix"; none is null in the API.
enum class AsnSource : uint8_t { None, Config, Lookup, Prefix };
std::string_view to_string(AsnSource source);
std::optional<AsnSource> asn_source_from_string(std::string_view name);

// What a verdict means, in the words an on-call engineer needs first (explain, the operator UI).
std::string_view verdict_meaning(Verdict verdict);

}  // namespace vantage
