#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/certs.hh"
#include "support/dnssec.hh"
#include "support/nginx.hh"
#include "support/nsd.hh"
#include "support/process.hh"
#include "support/temp_dir.hh"
#include "support/unbound.hh"

namespace vantage::testing {

// The lab's world, all on lo inside the test binary's own network namespace (see main.cc):
//   ns.test          192.0.2.1   2001:db8::1    NSD serving the root "." and "test."
//   ns1.social.test  192.0.2.53  2001:db8::53   NSD serving the child zone "social.test."
//   social.test      192.0.2.10  2001:db8::10   nginx, HTTPS on 443 with a test CA's certificate,
//                                               plain HTTP on 80
//   resolver         127.0.0.1   ::1            Unbound, iterating from the lab's root and
//                                               validating from its key (every zone is signed)
inline constexpr std::string_view kDomain = "social.test";
inline constexpr std::string_view kParentV4 = "192.0.2.1";
inline constexpr std::string_view kParentV6 = "2001:db8::1";
inline constexpr std::string_view kChildV4 = "192.0.2.53";
inline constexpr std::string_view kChildV6 = "2001:db8::53";
inline constexpr std::string_view kWebV4 = "192.0.2.10";
inline constexpr std::string_view kWebV6 = "2001:db8::10";
inline constexpr std::string_view kResolverV4 = "127.0.0.1";
inline constexpr std::string_view kResolverV6 = "::1";

// Every address the lab puts on lo.
std::vector<std::string> lab_addresses();

// "192.0.2.10:443", "[2001:db8::10]:443": how the probe names what it probed.
std::string target(std::string_view ip, int port);

// The vantage-agent binary under test: $VANTAGE_AGENT if set, else the one this build made.
std::filesystem::path agent_path();

// Which certificate nginx presents for social.test.
enum class Leaf {
  Valid,        // issued by the test CA for social.test, valid today
  Expired,      // same CA and name, but notAfter yesterday
  WrongName,    // same CA, valid, but for other.test
  UntrustedCa,  // social.test and valid, but signed by a CA the probe is not given
  Addresses,    // the test CA's for social.test and for the web addresses (subjectAltName IP)
  OutlivesCa,   // valid for 30 days, while the test CA that signed it expires in 7
  // The 30-day leaf on the IPv6 address, the 1-day one still on the IPv4 address: one node of
  // two not renewed.
  RenewedButV4,
};

// What the child zone's NSD does with social.test.
enum class ChildZone {
  Served,      // loaded: answers with AA
  Absent,      // not configured: REFUSED
  Unloadable,  // configured but its zone file is missing: SERVFAIL
};

// How the child zone social.test. is signed, and what its parent says of its key.
enum class ChildSignatures {
  Valid,         // an hour ago to four weeks ahead, the parent's DS of the zone's key
  Expired,       // signatures that ended a month ago
  ExpiringSoon,  // signatures that end in two days
  DsMismatch,    // valid signatures, but the parent's DS is of a key the zone never had
};

// One run of `vantage-agent probe ... --json`.
struct ProbeRun {
  std::vector<std::string> command;
  CommandResult outcome;
  nlohmann::json doc;  // null if stdout was not JSON
  std::string parse_error;

  std::string verdict() const;
  // Every result of one check ("Tcp", "Https", ...).
  std::vector<nlohmann::json> results(std::string_view check) const;
  // The first result of `check` against `target` that asks `subject` ("social.test A"; any
  // server name the probe appends is ignored), or any subject if that is empty.
  std::optional<nlohmann::json> result(std::string_view check, std::string_view target,
                                       std::string_view subject = {}) const;
  // Everything needed to judge a failed assertion: command, exit status, stderr and the JSON.
  std::string describe() const;
};

struct ProbeOptions {
  // What to probe, as `probe TARGET` takes it: the domain, an address or a URL.
  std::string target = std::string(kDomain);
  bool pin_ca = true;  // --ca with the lab's CA (an http or tcp target takes none)
  std::vector<std::string> resolvers = {std::string(kResolverV4)};
  // A state directory (inside the lab's temp dir) to share between probes; empty gives each
  // probe a fresh one, so a cycle never depends on what an earlier one remembered.
  std::string state;
  std::vector<std::string> extra_args;
  bool json = true;  // --json; without it the table a person reads (ProbeRun::doc stays null)
};

// The healthy lab, started by the constructor and stopped by the destructor. The methods break
// (and mend) one thing each, restarting what they change and waiting until it serves again.
class ProbeLab {
 public:
  ProbeLab();
  ~ProbeLab();
  ProbeLab(const ProbeLab&) = delete;
  ProbeLab& operator=(const ProbeLab&) = delete;

  void stop_web();
  void serve_status(int status);
  // Serves `body` (200, text/plain) from a file, so it may be larger than a config line allows.
  void serve_body(std::string_view body);
  void serve_certificate(Leaf leaf);
  void web_listens_on(std::vector<std::string> addresses);
  void set_child_zone(ChildZone state);
  void set_delegation(bool present);
  void sign_child_zone(ChildSignatures state);
  // The key tag of the key that signs social.test.
  int child_key_tag() const { return child_key_.key_tag; }
  // The resolver serves `zone` itself with `records`, as a company's internal resolver serves
  // names the public DNS (here the lab's root and test.) does not delegate.
  void serve_internal_zone(const std::string& zone, std::vector<std::string> records);
  // Drops without a word (no RST, no ICMP error) every packet that matches `match`, an nft
  // expression such as "ip daddr 192.0.2.10 tcp dport 443": a firewall, or an overloaded server.
  // Undone when the lab stops.
  void drop_silently(const std::string& match);

  ProbeRun probe(const ProbeOptions& options = {});

  const std::filesystem::path& dir() const { return dir_.path(); }
  // The CA that signed Leaf::UntrustedCa, as PEM: a test may make the system trust it.
  const std::string& untrusted_ca_pem() const { return untrusted_ca_pem_; }

 private:
  void restart_web();
  void restart_child();
  void restart_parent();
  // Every DNS change restarts the resolver too: the probe must see the new state of the
  // authoritative servers, not Unbound's cache of the old one.
  void restart_resolver();
  void write_parent_zone(bool delegated);
  void write_child_zone(SignatureWindow window);

  TempDir dir_;
  std::filesystem::path ca_file_;
  std::string untrusted_ca_pem_;
  struct Leaves {
    Certificate::Files valid, expired, wrong_name, untrusted, addresses, outlives_ca;
  } leaves_;
  SigningKey root_key_, test_key_, child_key_;
  SigningKey
      stray_key_;  // social.test.'s, as the parent's DS names it in ChildSignatures::DsMismatch
  bool ds_matches_ = true;
  bool delegated_ = true;
  NsdConfig parent_config_;
  NsdConfig child_config_;
  UnboundConfig resolver_config_;
  NginxConfig web_config_;
  // Declared in start order and destroyed in reverse: the resolver and the web server go before
  // the nameservers they depend on.
  std::optional<ChildProcess> parent_;
  std::optional<ChildProcess> child_;
  std::optional<ChildProcess> web_;
  std::optional<ChildProcess> resolver_;
  int probe_count_ = 0;
  bool dropping_ = false;
};

}  // namespace vantage::testing
