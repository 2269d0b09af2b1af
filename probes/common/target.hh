#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vantage {

// The layers a cycle probes above DNS and TCP.
enum class TargetKind : uint8_t {
  Https,  // TLS and an HTTP request (the default)
  Http,   // an HTTP request without TLS
  Tcp,    // a TCP connect only: SMTP, a database, anything that does not speak HTTP
};

std::string_view to_string(TargetKind kind);  // "https", "http", "tcp"
std::optional<TargetKind> target_kind_from_string(std::string_view text);
// 443 for https, 80 for http; 0 for tcp, whose port must always be given.
uint16_t default_port(TargetKind kind);

// The one spelling of a target's name: a domain name as canonical_domain_name writes it, or an
// IP address as inet_ntop writes it ("192.0.2.10", "2001:db8::1"). nullopt for anything else.
std::optional<std::string> canonical_target_name(std::string_view name);
// A target named by an address has no DNS layer: its cycle starts at TCP.
bool is_address_name(std::string_view name);

// How long before a certificate or a DNSSEC signature expires a cycle warns of it: agent.yaml's
// and the API's `warn_before`. Zero: never warn of that kind.
struct ExpiryThresholds {
  std::chrono::milliseconds certificate{std::chrono::hours(14 * 24)};
  std::chrono::milliseconds signature{std::chrono::hours(3 * 24)};
  bool operator==(const ExpiryThresholds&) const = default;
};

// {"certificate": "14d", "signature": "3d"}
nlohmann::json to_json(const ExpiryThresholds& thresholds);
// One `warn_before` period, as agent.yaml, the API and the command line give it: `*period` set,
// or the problem ("\"3x\" is not a period such as 14d, 12h or 30m (0d: never warn)") and
// `*period` unchanged.
std::string read_threshold(std::string_view text, std::chrono::milliseconds* period);
// Reads a `warn_before` document such as {"certificate": "14d"} into `thresholds`; a member left
// out keeps its value. The problem ("warn_before.signature: \"3x\" is not a period such as …"),
// or "" when there is none.
std::string read_expiry_thresholds(const nlohmann::json& json, ExpiryThresholds& thresholds);

// One target to probe, as the collector's target list holds it, the API carries it and the CLI
// sends it. agent.yaml holds the same settings for an agent's own targets.
struct Target {
  std::string domain;  // canonical_target_name: a domain name or an IP address
  TargetKind kind = TargetKind::Https;
  int port = 443;  // 1..65535
  std::string path = "/";
  std::vector<int> expect_status;  // empty: the agent's default (any 2xx or 3xx)
  std::string body_regex;          // RE2 syntax; empty: no content check
  std::string ca_file;             // on the agents; empty: the system store
  bool insecure = false;           // do not verify the certificate
  ExpiryThresholds warn_before;
  bool operator==(const Target&) const = default;
};

// Why a target's settings do not fit its kind ("a tcp target has no HTTP layer: path does not
// apply"), or "" when they do. The settings are named by their agent.yaml keys.
std::string target_kind_problem(TargetKind kind, const std::string& path, bool has_http_checks,
                                bool has_tls_settings);

// The API's target document: {"domain","kind","port","path","expect_status","body_regex",
// "ca_file","insecure","warn_before"}.
nlohmann::json to_json(const Target& target);

// A target as a person writes it on a command line: "shop.example", "https://shop.example:8443/
// health", "http://192.0.2.10/", "tcp://mail.example:25", "[2001:db8::1]:8080". What the text
// leaves out stays unset, for the command's options or the defaults to fill in.
struct TargetLocation {
  std::optional<TargetKind> kind;  // from the scheme
  std::string name;                // canonical_target_name
  std::optional<uint16_t> port;
  std::optional<std::string> path;
};

struct ParsedTargetLocation {
  std::optional<TargetLocation> location;
  std::string error;  // why the text is not a target, when location is empty
};

ParsedTargetLocation parse_target_location(std::string_view text);

// A target as a command line gives it (`probe`, `targets add`): TARGET as typed and the options
// that fill in what it leaves out.
struct TargetArguments {
  std::string target;  // DOMAIN, ADDRESS or a URL: https://, http://, tcp://HOST:PORT
  int port = 0;        // 0: from TARGET, else 443 (https) or 80 (http)
  std::string path;    // empty: from TARGET, else "/"
  std::vector<int> expect_status;
  std::string body_regex;
  std::string ca_file;
  bool insecure = false;
  std::string warn_certificate;  // a period ("14d"); empty: the default
  std::string warn_signature;
};

struct ParsedTarget {
  std::optional<Target> target;
  std::string error;  // why the arguments do not describe a target, when target is empty
};

// The target the arguments describe: a port or path given twice, a tcp target without a port, or
// settings that do not fit the kind (target_kind_problem) are errors.
ParsedTarget target_from_arguments(const TargetArguments& arguments);

}  // namespace vantage
