#include "result.hh"

#include <arpa/nameser.h>

#include <fmt/format.h>

#include <array>

namespace vantage {
namespace {

constexpr std::array kCheckNames = {"DnsRecursive", "DnsParent", "DnsAuthoritative", "Tcp",
                                    "Https",        "Http",      "Control",          "Liveness",
                                    "Path",         "DnsKeys"};
constexpr std::array kPhaseNames = {"Resolve", "Connect", "Tls", "Request", "Response"};
constexpr std::array kFailureNames = {"None",
                                      "Timeout",
                                      "NetUnreachable",
                                      "HostUnreachable",
                                      "ConnRefused",
                                      "ConnReset",
                                      "NxDomain",
                                      "NoData",
                                      "ServFail",
                                      "Refused",
                                      "Lame",
                                      "BadResponse",
                                      "DnssecBogus",
                                      "SignatureExpired",
                                      "SignatureNotYetValid",
                                      "DnskeyMissing",
                                      "TlsHandshake",
                                      "CertExpired",
                                      "CertUntrusted",
                                      "CertNameMismatch",
                                      "HttpStatus",
                                      "ContentMismatch",
                                      "Internal"};
constexpr std::array kVerdictNames = {
    "OK",          "ROUTE_LOSS", "DNS_FAILURE", "DOMAIN_VANISHED", "SERVER_DOWN",
    "TLS_FAILURE", "HTTP_ERROR", "DEGRADED",    "UNKNOWN",         "VANTAGE_ISOLATED"};

constexpr std::array kNativeKindNames = {"",     "errno", "ares", "rcode", "curl",
                                         "http", "x509",  "icmp", "ede"};

static_assert(kCheckNames.size() == static_cast<size_t>(Check::DnsKeys) + 1);
static_assert(kPhaseNames.size() == static_cast<size_t>(Phase::Response) + 1);
static_assert(kFailureNames.size() == static_cast<size_t>(Failure::Internal) + 1);
static_assert(kVerdictNames.size() == static_cast<size_t>(Verdict::VantageIsolated) + 1);
static_assert(kNativeKindNames.size() == static_cast<size_t>(NativeKind::Ede) + 1);

template <typename Enum, size_t N>
std::optional<Enum> lookup(const std::array<const char*, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) {
      return static_cast<Enum>(i);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Check check) {
  return kCheckNames.at(static_cast<size_t>(check));
}
std::string_view to_string(Phase phase) {
  return kPhaseNames.at(static_cast<size_t>(phase));
}
std::string_view to_string(Failure failure) {
  return kFailureNames.at(static_cast<size_t>(failure));
}
std::string_view to_string(Verdict verdict) {
  return kVerdictNames.at(static_cast<size_t>(verdict));
}

std::string_view to_string(NativeKind kind) {
  return kNativeKindNames.at(static_cast<size_t>(kind));
}

std::optional<Check> check_from_string(std::string_view name) {
  return lookup<Check>(kCheckNames, name);
}
std::optional<Phase> phase_from_string(std::string_view name) {
  return lookup<Phase>(kPhaseNames, name);
}
std::optional<Failure> failure_from_string(std::string_view name) {
  return lookup<Failure>(kFailureNames, name);
}
std::optional<Verdict> verdict_from_string(std::string_view name) {
  return lookup<Verdict>(kVerdictNames, name);
}
std::optional<NativeKind> native_kind_from_string(std::string_view name) {
  return lookup<NativeKind>(kNativeKindNames, name);
}

bool is_refusal(Failure failure) {
  return failure == Failure::ConnRefused || failure == Failure::ConnReset;
}

bool is_dnssec_failure(Failure failure) {
  return failure == Failure::DnssecBogus || failure == Failure::SignatureExpired ||
         failure == Failure::SignatureNotYetValid || failure == Failure::DnskeyMissing;
}

bool is_network_failure(Failure failure) {
  return failure == Failure::Timeout || failure == Failure::NetUnreachable ||
         failure == Failure::HostUnreachable;
}

std::string_view rcode_name(int rcode) {
  switch (rcode) {
    case ns_r_noerror:
      return "NOERROR";
    case ns_r_formerr:
      return "FORMERR";
    case ns_r_servfail:
      return "SERVFAIL";
    case ns_r_nxdomain:
      return "NXDOMAIN";
    case ns_r_notimpl:
      return "NOTIMP";
    case ns_r_refused:
      return "REFUSED";
    default:
      return "RCODE";
  }
}

bool is_failure(Verdict verdict) {
  switch (verdict) {
    case Verdict::RouteLoss:
    case Verdict::DnsFailure:
    case Verdict::DomainVanished:
    case Verdict::ServerDown:
    case Verdict::TlsFailure:
    case Verdict::HttpError:
      return true;
    case Verdict::Ok:
    case Verdict::Degraded:
    case Verdict::Unknown:
    case Verdict::VantageIsolated:
      return false;
  }
  return false;
}

std::string extended_error_name(uint16_t code) {
  // The IANA registry of Extended DNS Error codes, 0 to 29.
  constexpr std::array<const char*, 30> kNames = {"Other Error",
                                                  "Unsupported DNSKEY Algorithm",
                                                  "Unsupported DS Digest Type",
                                                  "Stale Answer",
                                                  "Forged Answer",
                                                  "DNSSEC Indeterminate",
                                                  "DNSSEC Bogus",
                                                  "Signature Expired",
                                                  "Signature Not Yet Valid",
                                                  "DNSKEY Missing",
                                                  "RRSIGs Missing",
                                                  "No Zone Key Bit Set",
                                                  "NSEC Missing",
                                                  "Cached Error",
                                                  "Not Ready",
                                                  "Blocked",
                                                  "Censored",
                                                  "Filtered",
                                                  "Prohibited",
                                                  "Stale NXDomain Answer",
                                                  "Not Authoritative",
                                                  "Not Supported",
                                                  "No Reachable Authority",
                                                  "Network Error",
                                                  "Invalid Data",
                                                  "Signature Expired before Valid",
                                                  "Too Early",
                                                  "Unsupported NSEC3 Iterations Value",
                                                  "Unable to conform to policy",
                                                  "Synthesized"};
  if (code < kNames.size()) {
    return kNames[code];
  }
  return fmt::format("EDE {}", code);
}

}  // namespace vantage
