#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vantage {

// Which probe produced a result. The order is the order of the network stack, bottom up after
// the DNS layers, and the reading walks it in that order. Liveness and Path are the evidence a
// cycle gathers only when a probe met silence: does the host answer anything, and where does the
// path to it stop.
enum class Check : uint8_t {
  DnsRecursive,
  DnsParent,
  DnsAuthoritative,
  Tcp,
  Https,
  Http,  // the request of an http target: HTTP without TLS
  Control,
  Liveness,
  Path,
  DnsKeys  // the zone's DNSKEY set from its own servers, when the parent holds a DS
};

// The request of an https or http target: the layer above TCP.
constexpr bool is_web_check(Check check) {
  return check == Check::Https || check == Check::Http;
}

// Where a probe stopped: the last phase it entered.
enum class Phase : uint8_t { Resolve, Connect, Tls, Request, Response };

// Why a probe failed, as a class an operator can query and correlate across vantages.
enum class Failure : uint8_t {
  None,
  Timeout,
  NetUnreachable,
  HostUnreachable,
  ConnRefused,
  ConnReset,
  NxDomain,
  NoData,
  ServFail,
  Refused,
  Lame,
  BadResponse,
  // A validating resolver's SERVFAIL that says why (an Extended DNS Error, RFC 8914): the zone's
  // DNSSEC chain is broken, and every validating resolver in the world will fail the same way.
  DnssecBogus,           // EDE 5, 6, 10, 11, 12, 25: bogus, signatures or proof missing
  SignatureExpired,      // EDE 7: an RRSIG past its expiration
  SignatureNotYetValid,  // EDE 8: an RRSIG before its inception
  DnskeyMissing,         // EDE 9: no DNSKEY matches the parent's DS
  TlsHandshake,
  CertExpired,
  CertUntrusted,
  CertNameMismatch,
  HttpStatus,
  ContentMismatch,
  Internal,
};

// Which code space a result's native_code is in: an errno, a c-ares status (ARES_E*), a DNS
// rcode, a CURLcode, an HTTP status, an X509_V_ERR_* or an ICMP type*256+code, or an Extended DNS
// Error's INFO-CODE (RFC 8914). None: no code.
enum class NativeKind : uint8_t { None, Errno, Ares, Rcode, Curl, Http, X509, Icmp, Ede };

// The verdict names (docs/verdicts.md); scripts and alert receivers depend on their spelling.
enum class Verdict : uint8_t {
  Ok,
  RouteLoss,
  DnsFailure,
  DomainVanished,
  ServerDown,
  TlsFailure,
  HttpError,
  Degraded,
  Unknown,
  VantageIsolated,
};

std::string_view to_string(Check check);
std::string_view to_string(Phase phase);
std::string_view to_string(Failure failure);
std::string_view to_string(Verdict verdict);
// A verdict that names a broken layer (ROUTE_LOSS, DNS_FAILURE, DOMAIN_VANISHED, SERVER_DOWN,
// TLS_FAILURE, HTTP_ERROR): not OK, not merely DEGRADED, and not a vantage unable to judge.
bool is_failure(Verdict verdict);
std::string_view to_string(NativeKind kind);  // "errno", "ares", ...; "" for None

// Parsing the names back (for the JSON round trip); nullopt for a name we do not know.
std::optional<Check> check_from_string(std::string_view name);
std::optional<Phase> phase_from_string(std::string_view name);
std::optional<Failure> failure_from_string(std::string_view name);
std::optional<Verdict> verdict_from_string(std::string_view name);
std::optional<NativeKind> native_kind_from_string(std::string_view name);

// The mnemonic of a DNS response code (RFC 1035 / 6895): "NXDOMAIN"; "RCODE" for the rest.
std::string_view rcode_name(int rcode);

// The registered name of an Extended DNS Error INFO-CODE (RFC 8914): "Signature Expired";
// "EDE <code>" for a code not registered.
std::string extended_error_name(uint16_t code);

// True for the failure classes that mean "packets do not get there": the signature of a lost or
// black-holed route, as opposed to a host that answers with an error.
bool is_network_failure(Failure failure);

// True for an RST or a port unreachable: the host itself answered, and said no.
bool is_refusal(Failure failure);

// True for the classes of a DNSSEC validation failure (DnssecBogus ... DnskeyMissing).
bool is_dnssec_failure(Failure failure);

struct Timings {
  std::optional<std::chrono::microseconds> resolve, connect, tls, first_byte, total;
};

struct DnsRecord {
  std::string name;
  uint16_t type = 0;  // RR type number: 1 A, 2 NS, 28 AAAA, 5 CNAME, 6 SOA
  uint32_t ttl = 0;
  std::string data;  // address text for A/AAAA, target name for NS/CNAME, mname for SOA
  bool operator==(const DnsRecord&) const = default;
};

// An Extended DNS Error (RFC 8914) a resolver attached to its answer.
struct ExtendedError {
  uint16_t code = 0;  // INFO-CODE: 6 DNSSEC Bogus, 7 Signature Expired, 9 DNSKEY Missing, ...
  std::string text;   // EXTRA-TEXT as the resolver sent it: for people, never parsed
  bool operator==(const ExtendedError&) const = default;
};

// An RRSIG record (RFC 4034 section 3): which key of which zone signed `owner`'s `covered` set,
// and when that signature holds.
struct Signature {
  std::string owner;
  uint16_t covered = 0;  // the type signed: 1 A, 28 AAAA, 43 DS, ...
  uint8_t algorithm = 0;
  uint16_t key_tag = 0;
  std::string signer;  // the zone whose key signed
  std::chrono::sys_seconds inception{};
  std::chrono::sys_seconds expiration{};
  bool operator==(const Signature&) const = default;
};

// A DS record (RFC 4034 section 5): the parent's pointer to one key of the child zone.
struct DelegationSigner {
  std::string owner;
  uint16_t key_tag = 0;
  uint8_t algorithm = 0;
  uint8_t digest_type = 0;
  std::string digest;  // lower-case hex
  bool operator==(const DelegationSigner&) const = default;
};

// A DNSKEY record (RFC 4034 section 2), by what a DS or RRSIG names it with.
struct ZoneKey {
  std::string owner;
  uint16_t flags = 0;  // 256 a zone key, 257 one with SEP (a key-signing key)
  uint8_t algorithm = 0;
  uint16_t key_tag = 0;  // computed from the record (RFC 4034 appendix B)
  bool operator==(const ZoneKey&) const = default;
};

// What a DNS exchange saw on the wire; present on DNS results that got a response. The DNSSEC
// records of every section are in `signatures`, `delegation_signers` and `zone_keys`, not in the
// record lists.
struct DnsDetails {
  std::string qname;
  uint16_t qtype = 0;
  int rcode = 0;
  bool authoritative = false;  // AA flag
  bool truncated = false;
  bool authenticated = false;  // AD flag: the resolver validated the answer with DNSSEC
  std::vector<DnsRecord> answers;
  std::vector<DnsRecord> authority;
  std::vector<DnsRecord> additional;
  std::vector<ExtendedError> extended_errors;
  std::vector<Signature> signatures;
  std::vector<DelegationSigner> delegation_signers;
  std::vector<ZoneKey> zone_keys;
  bool operator==(const DnsDetails&) const = default;
};

struct TlsDetails {
  std::string version;  // "TLSv1.3"
  std::string subject;
  std::string issuer;
  std::string not_after;  // RFC 3339, UTC
  // The certificate of the verified chain (the leaf, its intermediates and the trust anchor) that
  // expires first, once the handshake completed: an intermediate or a root can lapse before the
  // leaf does. Empty when the handshake failed.
  std::string earliest_subject;
  std::string earliest_not_after;  // RFC 3339, UTC
  bool operator==(const TlsDetails&) const = default;
};

// One TTL of a traceroute: who answered a probe sent with that TTL, if anyone.
struct PathHop {
  int ttl = 0;
  std::string address;  // the router or host that answered; empty for silence ("*")
  std::optional<std::chrono::microseconds> rtt;
  std::optional<int64_t> asn;  // from the ASN database, when one is configured
  int icmp_type = 0;           // what came back (IPv4 numbering, IPv6 mapped to it):
  int icmp_code = 0;           // 11/0 time exceeded, 3/3 port unreachable, 3/0 net unreachable
  bool operator==(const PathHop&) const = default;
};

// Where the path from this vantage to one silent address goes, and where it stops.
struct PathDetails {
  std::string destination;  // the address traced
  std::string network;      // its routed prefix: "203.0.113.0/24", "2001:db8:500::/48"
  std::optional<int64_t> destination_asn;
  std::vector<PathHop> hops;         // by TTL from 1, up to the last TTL sent
  bool reached_destination = false;  // the destination itself answered
  bool reached_network = false;      // a hop inside `network` (or the destination's AS) answered
  bool operator==(const PathDetails&) const = default;
};

struct ProbeResult {
  Check check = Check::Tcp;
  std::string target;   // the server or address probed, "ip:port"
  std::string subject;  // what was asked: "social.test A", "social.test NS", "https://social.test/"
  Failure failure = Failure::None;
  Phase phase = Phase::Resolve;
  int native_code = 0;  // in the code space `native_kind` names
  NativeKind native_kind = NativeKind::None;
  std::string detail;  // a human sentence; never parsed
  Timings timings;
  std::optional<DnsDetails> dns;
  std::optional<TlsDetails> tls;
  std::optional<int> http_status;
  std::optional<PathDetails> path;  // Check::Path only

  bool ok() const { return failure == Failure::None; }
};

}  // namespace vantage
