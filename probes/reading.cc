#include "reading.hh"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <optional>
#include <set>

#include "endpoint.hh"
#include "network_evidence.hh"
#include "routed_prefix.hh"
#include "target.hh"

namespace vantage {
namespace {

using Results = std::vector<const ProbeResult*>;

Results of_checks(const CycleResult& cycle, const std::function<bool(Check)>& wanted) {
  Results selected;
  for (const auto& result : cycle.results) {
    if (wanted(result.check)) {
      selected.push_back(&result);
    }
  }
  return selected;
}

Results of_check(const CycleResult& cycle, Check check) {
  return of_checks(cycle, [check](Check other) { return other == check; });
}

bool any_ok(const Results& results) {
  return std::any_of(results.begin(), results.end(), [](auto* r) { return r->ok(); });
}

bool all_match(const Results& results, const std::function<bool(const ProbeResult&)>& test) {
  return !results.empty() &&
         std::all_of(results.begin(), results.end(), [&](auto* r) { return test(*r); });
}

bool all_network_failures(const Results& results) {
  return all_match(results, [](const ProbeResult& r) { return is_network_failure(r.failure); });
}

bool is_tls_failure(Failure failure) {
  return failure == Failure::TlsHandshake || failure == Failure::CertExpired ||
         failure == Failure::CertUntrusted || failure == Failure::CertNameMismatch;
}

// The failure class most of `results` share, for the summary line.
Failure common_failure(const Results& results) {
  std::vector<int> counts(static_cast<size_t>(Failure::Internal) + 1, 0);
  for (const auto* result : results) {
    ++counts[static_cast<size_t>(result->failure)];
  }
  counts[0] = 0;
  return static_cast<Failure>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

void add_unique(std::vector<std::string>& lines, std::string line) {
  if (std::find(lines.begin(), lines.end(), line) == lines.end()) {
    lines.push_back(std::move(line));
  }
}

void add_failures(std::vector<std::string>& lines, const Results& results) {
  for (const auto* result : results) {
    if (!result->ok()) {
      add_unique(lines, describe(*result));
    }
  }
}

// How the silent addresses of one layer read, given what the cycle proves about their networks.
struct Silence {
  std::vector<std::string> lost;      // proof that the route to an address is gone
  std::vector<std::string> present;   // proof that it exists: the service is silent
  std::vector<std::string> unproven;  // addresses with no evidence either way
};

class Reader {
 public:
  explicit Reader(const CycleResult& cycle)
      : cycle_(cycle),
        evidence_(cycle.results),
        recursive_(of_check(cycle, Check::DnsRecursive)),
        parent_(of_check(cycle, Check::DnsParent)),
        authoritative_(of_check(cycle, Check::DnsAuthoritative)),
        tcp_(of_check(cycle, Check::Tcp)),
        requests_(of_checks(cycle, is_web_check)),
        control_(of_check(cycle, Check::Control)),
        keys_(of_check(cycle, Check::DnsKeys)),
        invalid_(dnssec_failures(recursive_)),
        unmatched_delegation_(delegation_mismatch()) {}

  Reading read() {
    Reading reading = decide();
    // Validation failing at only some resolvers leaves the domain working through the others,
    // but everyone behind those resolvers (and behind any validating resolver elsewhere) is cut
    // off: that is said first, not left among the other warnings.
    std::vector<std::string> first;
    if (reading.verdict != Verdict::DnsFailure && !invalid_.empty()) {
      first.push_back(validation_failing() +
                      ": whoever uses a validating resolver cannot resolve it");
    }
    // A DS naming no key served breaks validation even while resolvers still answer from cache.
    if (!unmatched_delegation_.empty() &&
        std::find(reading.evidence.begin(), reading.evidence.end(), unmatched_delegation_) ==
            reading.evidence.end()) {
      first.push_back(unmatched_delegation_);
    }
    reading.warnings.insert(reading.warnings.begin(), first.begin(), first.end());
    return reading;
  }

 private:
  Reading decide() {
    if (const auto isolated = isolation()) {
      return *isolated;
    }
    if (vanished()) {
      return verdict(Verdict::DomainVanished,
                     fmt::format("{} no longer exists: NXDOMAIN from the parent zone or every "
                                 "resolver",
                                 cycle_.domain),
                     {&parent_, &recursive_});
    }
    // Silence is read against the network evidence: only a router's unreachable or a path that
    // dies before the destination's network, with nothing in that network answering, is a lost
    // route. Silence from a host whose network answers is the service's own fault.
    const Silence web = all_network_failures(tcp_) ? read_silence(tcp_) : Silence{};
    const Silence dns =
        all_network_failures(authoritative_) ? read_silence(authoritative_) : Silence{};
    if (!web.lost.empty()) {
      return verdict(
          Verdict::RouteLoss,
          fmt::format("all {} address{} of {} unreachable ({}): the route is gone", tcp_.size(),
                      tcp_.size() == 1 ? "" : "es", cycle_.domain, to_string(common_failure(tcp_))),
          {&tcp_}, web.lost, {&authoritative_, &recursive_});
    }
    if (!dns.lost.empty()) {
      return verdict(Verdict::RouteLoss,
                     fmt::format("all {} authoritative server queries for {} unreachable ({}): "
                                 "the route is gone",
                                 authoritative_.size(), cycle_.domain,
                                 to_string(common_failure(authoritative_))),
                     {&authoritative_}, dns.lost, {&tcp_, &recursive_});
    }
    if (!dns.present.empty()) {
      return verdict(Verdict::DnsFailure,
                     fmt::format("the authoritative servers of {} are silent while their "
                                 "network answers",
                                 cycle_.domain),
                     {&authoritative_}, dns.present, {&recursive_});
    }
    if (!dns.unproven.empty()) {
      return unproven(authoritative_, dns.unproven);
    }
    if (!authoritative_.empty() && !any_ok(authoritative_)) {
      return verdict(Verdict::DnsFailure,
                     fmt::format("the authoritative servers of {} are reachable but do not "
                                 "answer for it ({})",
                                 cycle_.domain, to_string(common_failure(authoritative_))),
                     {&authoritative_, &recursive_});
    }
    if (!recursive_.empty() && !any_ok(recursive_)) {
      if (!invalid_.empty()) {
        std::vector<std::string> proof{dnssec_proof(invalid_)};
        const auto delegation = delegation_proof();
        proof.insert(proof.end(), delegation.begin(), delegation.end());
        return verdict(Verdict::DnsFailure, validation_failing() + authoritative_state(),
                       {&invalid_, &recursive_}, proof, {&authoritative_});
      }
      // A resolver that sends no Extended DNS Error says only SERVFAIL: a DS naming no key
      // served is then the zone's side of the story.
      return verdict(Verdict::DnsFailure,
                     fmt::format("every recursive resolver fails for {} ({})", cycle_.domain,
                                 to_string(common_failure(recursive_))),
                     {&recursive_}, delegation_proof(), {&authoritative_});
    }
    if (tcp_.empty()) {
      return verdict(Verdict::DnsFailure,
                     fmt::format("no address found for {}: no A or AAAA records, none remembered",
                                 cycle_.domain),
                     {&recursive_, &authoritative_, &parent_});
    }
    if (!web.present.empty()) {
      return verdict(Verdict::ServerDown,
                     fmt::format("{}, but every address is silent on port {}", located(),
                                 port_text(tcp_.front()->target)),
                     {&tcp_}, web.present, {});
    }
    if (!web.unproven.empty()) {
      return unproven(tcp_, web.unproven);
    }
    if (!any_ok(tcp_)) {
      return verdict(Verdict::ServerDown,
                     fmt::format("{}, but no address accepts connections on the service port "
                                 "({})",
                                 located(), to_string(common_failure(tcp_))),
                     {&tcp_});
    }
    if (!requests_.empty() && !any_ok(requests_)) {
      return web_verdict();
    }
    if (requests_.empty()) {  // a tcp target: the connect is the whole service
      return verdict(Verdict::Ok,
                     fmt::format("{} accepts TCP on port {} from this vantage", cycle_.domain,
                                 port_text(tcp_.front()->target)),
                     {});
    }
    return verdict(Verdict::Ok, fmt::format("{} works from this vantage", cycle_.domain), {});
  }

  // The resolvers' answers that failed DNSSEC validation.
  static Results dnssec_failures(const Results& recursive) {
    Results invalid;
    std::copy_if(recursive.begin(), recursive.end(), std::back_inserter(invalid),
                 [](auto* r) { return is_dnssec_failure(r->failure); });
    return invalid;
  }

  // "DNSSEC validation fails for social.test at 1 of 2 resolvers (EDE 7, Signature Expired)"
  std::string validation_failing() const {
    return fmt::format("DNSSEC validation fails for {} at {} of {} resolvers ({})", cycle_.domain,
                       servers(invalid_), servers(recursive_), extended_error_text(invalid_));
  }

  // How many servers `results` asked: a resolver is asked for A and AAAA.
  static size_t servers(const Results& results) {
    std::set<std::string_view> targets;
    for (const auto* result : results) {
      targets.insert(result->target);
    }
    return targets.size();
  }

  // "EDE 7, Signature Expired": the resolvers' own reason, as the first of them gave it.
  static std::string extended_error_text(const Results& invalid) {
    const ProbeResult& first = *invalid.front();
    if (first.native_kind != NativeKind::Ede) {  // a document written by hand, or damaged
      return std::string(to_string(first.failure));
    }
    return fmt::format("EDE {}, {}", first.native_code,
                       extended_error_name(static_cast<uint16_t>(first.native_code)));
  }

  // The line the collector counts across networks: the same words from every vantage that sees
  // the failure, whatever its resolvers are called.
  std::string dnssec_proof(const Results& invalid) const {
    return fmt::format("DNSSEC bogus ({}) from resolvers{}", extended_error_text(invalid),
                       authoritative_state());
  }

  // "the parent's DS for key 20326 (algorithm 13) names no key the servers of social.test serve
  // (they serve 6331 (algorithm 13))": the chain of trust is cut at the delegation, as after a
  // key roll-over the parent never heard of. Per server address, since a resolver that asks one
  // not updated fails as well ("… names no key served at 192.0.2.54:53 (1 of 2 nameserver
  // addresses; it serves …)"). Compared by key tag and algorithm, as a validator picks the key
  // to try. "" while every answering server serves a key a DS names (a roll-over in progress
  // holds several), or no server told its keys.
  std::string delegation_mismatch() const {
    using KeyIds = std::set<std::pair<uint16_t, uint8_t>>;
    KeyIds named;
    for (const auto* result : parent_) {
      if (result->ok() && result->dns) {
        for (const auto& signer : result->dns->delegation_signers) {
          named.emplace(signer.key_tag, signer.algorithm);
        }
      }
    }
    std::set<std::string> told;
    std::set<std::string> unmatched;
    KeyIds unmatched_keys;
    for (const auto* result : keys_) {
      if (!result->ok() || !result->dns) {
        continue;
      }
      told.insert(result->target);
      KeyIds served;
      for (const auto& key : result->dns->zone_keys) {
        served.emplace(key.key_tag, key.algorithm);
      }
      if (std::none_of(named.begin(), named.end(),
                       [&](const auto& key) { return served.count(key) > 0; })) {
        unmatched.insert(result->target);
        unmatched_keys.insert(served.begin(), served.end());
      }
    }
    if (named.empty() || unmatched.empty()) {
      return "";
    }
    const auto keys = [](const KeyIds& set) {
      std::vector<std::string> texts;
      texts.reserve(set.size());
      for (const auto& [tag, algorithm] : set) {
        texts.push_back(fmt::format("{} (algorithm {})", tag, algorithm));
      }
      return fmt::format("{}", fmt::join(texts, ", "));
    };
    const std::string served =
        unmatched_keys.empty() ? std::string("no DNSKEY") : keys(unmatched_keys);
    const std::string ds =
        fmt::format("the parent's DS for key{} {}", named.size() == 1 ? "" : "s", keys(named));
    if (unmatched.size() == told.size() && told.size() > 1) {
      return fmt::format("{} names no key the servers of {} serve (they serve {})", ds,
                         cycle_.domain, served);
    }
    if (told.size() == 1) {
      return fmt::format(
          "{} names no key served at {}, the one server address of {} that "
          "answered (it serves {})",
          ds, *unmatched.begin(), cycle_.domain, served);
    }
    return fmt::format(
        "{} names no key served at {} ({} of {} answering nameserver addresses; "
        "{} {})",
        ds, fmt::join(unmatched, ", "), unmatched.size(), told.size(),
        unmatched.size() == 1 ? "it serves" : "they serve", served);
  }

  std::vector<std::string> delegation_proof() const {
    if (unmatched_delegation_.empty()) {
      return {};
    }
    return {unmatched_delegation_};
  }

  // Whether the zone's own servers still answer: a validation failure with working servers is
  // a signing or key problem, not an outage of the servers. (Servers that all fail decide the
  // verdict before the resolvers are read.)
  std::string authoritative_state() const {
    return any_ok(authoritative_) ? "; the authoritative servers answer" : "";
  }

  // A refused control connection still proves the uplink works; only unreachable ones isolate.
  // Without control targets, a vantage that hears nothing from anyone, its own resolvers
  // included, is cut off itself: that is never the domain's fault.
  std::optional<Reading> isolation() {
    if (all_network_failures(control_)) {
      return verdict(Verdict::VantageIsolated,
                     fmt::format("this vantage cannot reach its {} control target{}: its own "
                                 "network is broken, not {}",
                                 control_.size(), control_.size() == 1 ? "" : "s", cycle_.domain),
                     {&control_});
    }
    if (control_.empty() && !cycle_.results.empty() && !evidence_.any_answer()) {
      // A target named by its address asks no resolver: a router on the path answering is then
      // what shows this vantage's network works, and the path's end is read as for a name.
      if (is_address_name(cycle_.domain)) {
        // An unreachable (from this vantage's table or a router) is an answer about the route.
        const bool told_unreachable = std::any_of(tcp_.begin(), tcp_.end(), [](auto* r) {
          return r->failure == Failure::NetUnreachable || r->failure == Failure::HostUnreachable;
        });
        if (told_unreachable || any_router_answered()) {
          return std::nullopt;
        }
        return verdict(Verdict::VantageIsolated,
                       fmt::format("nothing answered this vantage, not even a router on the "
                                   "path: its own network is broken, not {}",
                                   cycle_.domain),
                       {&tcp_});
      }
      return verdict(Verdict::VantageIsolated,
                     fmt::format("nothing answered this vantage, not even its resolvers: its "
                                 "own network is broken, not {}",
                                 cycle_.domain),
                     {&recursive_, &parent_});
    }
    return std::nullopt;
  }

  bool any_router_answered() const {
    return std::any_of(cycle_.results.begin(), cycle_.results.end(), [](const ProbeResult& r) {
      return r.path && std::any_of(r.path->hops.begin(), r.path->hops.end(),
                                   [](const PathHop& hop) { return !hop.address.empty(); });
    });
  }

  Silence read_silence(const Results& failed) const {
    Silence silence;
    for (const auto* result : failed) {
      const std::string address = address_of(result->target);
      if (auto lost = evidence_.route_lost(address)) {
        add_unique(silence.lost, std::move(*lost));
      } else if (auto present = evidence_.route_present(address)) {
        add_unique(silence.present, std::move(*present));
      } else {
        add_unique(silence.unproven, address);
      }
    }
    return silence;
  }

  // Silence with no evidence about the network either way: naming a layer would be a guess.
  Reading unproven(const Results& silent, const std::vector<std::string>& addresses) {
    const std::string list = fmt::format("{}", fmt::join(addresses, ", "));
    return verdict(Verdict::Unknown,
                   fmt::format("{} silent, and nothing shows whether the route or the host is at "
                               "fault (no liveness or path evidence)",
                               list),
                   {&silent});
  }

  bool vanished() const {
    // A resolver that answers for the name with authority serves its zone itself, as an internal
    // resolver serves a company's own names: the public parent's NXDOMAIN does not speak for them.
    const bool served_by_resolver = std::any_of(recursive_.begin(), recursive_.end(), [](auto* r) {
      return r->ok() && r->dns && r->dns->authoritative;
    });
    const bool parent_says_gone =
        std::any_of(parent_.begin(), parent_.end(),
                    [](auto* r) { return r->failure == Failure::NxDomain; }) &&
        cycle_.nameservers.empty() && !served_by_resolver;
    const bool resolvers_say_gone =
        all_match(recursive_, [](const ProbeResult& r) { return r.failure == Failure::NxDomain; });
    return parent_says_gone || resolvers_say_gone;
  }

  Reading web_verdict() {
    const Failure failure = common_failure(requests_);
    const bool tls = requests_.front()->check == Check::Https;
    const std::string_view protocol = tls ? "HTTPS" : "HTTP";
    if (is_tls_failure(failure)) {
      return verdict(
          Verdict::TlsFailure,
          fmt::format("TCP works but TLS fails on every address ({})", to_string(failure)),
          {&requests_});
    }
    if (is_refusal(failure)) {
      return verdict(Verdict::ServerDown,
                     fmt::format("connections are cut before {} ({})",
                                 tls ? "TLS completes" : "the HTTP response", to_string(failure)),
                     {&requests_});
    }
    // The TCP probe was just accepted by these addresses: the route is there, the server is not.
    if (is_network_failure(failure) && common_phase(requests_) == Phase::Connect) {
      return verdict(Verdict::ServerDown,
                     fmt::format("addresses accepted the TCP probe, then went silent before the "
                                 "{} probe connected ({})",
                                 protocol, to_string(failure)),
                     {&requests_});
    }
    if (failure == Failure::Internal) {
      return verdict(Verdict::Unknown, fmt::format("the {} probe could not run", protocol),
                     {&requests_});
    }
    return verdict(Verdict::HttpError,
                   fmt::format("{} works but HTTP fails on every address ({})", tls ? "TLS" : "TCP",
                               to_string(failure)),
                   {&requests_});
  }

  // Where a server's own failure was found: past DNS, in a network that answers.
  std::string located() const {
    if (is_address_name(cycle_.domain)) {
      return fmt::format("the network of {} answers", cycle_.domain);
    }
    return fmt::format("{} resolves and its network answers", cycle_.domain);
  }

  static Phase common_phase(const Results& results) {
    return results.empty() ? Phase::Connect : results.front()->phase;
  }

  // The evidence is ordered for a person reading it at 3 a.m.: the probes that decided first,
  // then the proof about the network, then the other failures that back it.
  Reading verdict(Verdict verdict, std::string summary,
                  std::initializer_list<const Results*> deciding,
                  const std::vector<std::string>& proof = {},
                  std::initializer_list<const Results*> backing = {}) {
    Reading reading;
    reading.verdict = verdict;
    reading.summary = std::move(summary);
    for (const Results* results : deciding) {
      add_failures(reading.evidence, *results);
    }
    for (const auto& line : proof) {
      add_unique(reading.evidence, line);
    }
    for (const Results* results : backing) {
      add_failures(reading.evidence, *results);
    }
    // Whatever failed but did not make the verdict is still worth a look.
    for (const auto& result : cycle_.results) {
      const std::string line = describe(result);
      if (!result.ok() && std::find(reading.evidence.begin(), reading.evidence.end(), line) ==
                              reading.evidence.end()) {
        reading.warnings.push_back(line);
      }
    }
    return reading;
  }

  const CycleResult& cycle_;
  NetworkEvidence evidence_;
  Results recursive_, parent_, authoritative_, tcp_, requests_, control_, keys_;
  Results invalid_;                   // the resolvers' answers that failed DNSSEC validation
  std::string unmatched_delegation_;  // delegation_mismatch(), once
};

}  // namespace

std::string describe(const ProbeResult& result) {
  std::string line = fmt::format("{} {} {}: {}", to_string(result.check), result.target,
                                 result.subject, to_string(result.failure));
  if (result.native_kind != NativeKind::None) {
    line += fmt::format(" ({} {}", to_string(result.native_kind), result.native_code);
    line += result.detail.empty() ? ")" : fmt::format(", {})", result.detail);
  } else if (!result.detail.empty()) {
    line += fmt::format(" ({})", result.detail);
  }
  return line;
}

Reading read_cycle(const CycleResult& cycle) {
  return Reader(cycle).read();
}

}  // namespace vantage
