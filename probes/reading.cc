#include "reading.hh"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace vantage {
namespace {

using Results = std::vector<const ProbeResult*>;

Results of_check(const CycleResult& cycle, Check check) {
  Results selected;
  for (const auto& result : cycle.results) {
    if (result.check == check) {
      selected.push_back(&result);
    }
  }
  return selected;
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

bool is_refusal(Failure failure) {
  return failure == Failure::ConnRefused || failure == Failure::ConnReset;
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

void add_failures(std::vector<std::string>& lines, const Results& results) {
  for (const auto* result : results) {
    if (!result->ok()) {
      lines.push_back(describe(*result));
    }
  }
}

class Reader {
 public:
  explicit Reader(const CycleResult& cycle)
      : cycle_(cycle),
        recursive_(of_check(cycle, Check::DnsRecursive)),
        parent_(of_check(cycle, Check::DnsParent)),
        authoritative_(of_check(cycle, Check::DnsAuthoritative)),
        tcp_(of_check(cycle, Check::Tcp)),
        https_(of_check(cycle, Check::Https)),
        control_(of_check(cycle, Check::Control)) {}

  Reading read() {
    // A refused control connection still proves the uplink works; only unreachable ones isolate.
    if (all_network_failures(control_)) {
      return verdict(Verdict::VantageIsolated,
                     fmt::format("this vantage cannot reach its {} control target{}: its own "
                                 "network is broken, not {}",
                                 control_.size(), control_.size() == 1 ? "" : "s", cycle_.domain),
                     {&control_});
    }
    if (vanished()) {
      return verdict(Verdict::DomainVanished,
                     fmt::format("{} no longer exists: NXDOMAIN from the parent zone or every "
                                 "resolver",
                                 cycle_.domain),
                     {&parent_, &recursive_});
    }
    if (all_network_failures(tcp_)) {
      const bool dns_too = authoritative_.empty() || all_network_failures(authoritative_);
      return verdict(
          Verdict::RouteLoss,
          fmt::format(
              "all {} address{} of {} unreachable ({}){}", tcp_.size(),
              tcp_.size() == 1 ? "" : "es", cycle_.domain, to_string(common_failure(tcp_)),
              dns_too && !authoritative_.empty() ? ", and every authoritative server too" : ""),
          {&authoritative_, &tcp_, &recursive_});
    }
    if (all_network_failures(authoritative_)) {
      return verdict(Verdict::RouteLoss,
                     fmt::format("all {} authoritative server queries for {} unreachable ({})",
                                 authoritative_.size(), cycle_.domain,
                                 to_string(common_failure(authoritative_))),
                     {&authoritative_, &tcp_, &recursive_});
    }
    if (!authoritative_.empty() && !any_ok(authoritative_)) {
      return verdict(Verdict::DnsFailure,
                     fmt::format("the authoritative servers of {} are reachable but do not "
                                 "answer for it ({})",
                                 cycle_.domain, to_string(common_failure(authoritative_))),
                     {&authoritative_, &recursive_});
    }
    if (!recursive_.empty() && !any_ok(recursive_)) {
      return verdict(Verdict::DnsFailure,
                     fmt::format("every recursive resolver fails for {} ({})", cycle_.domain,
                                 to_string(common_failure(recursive_))),
                     {&recursive_, &authoritative_});
    }
    if (tcp_.empty()) {
      return verdict(Verdict::DnsFailure,
                     fmt::format("no address found for {}: no A or AAAA records, none remembered",
                                 cycle_.domain),
                     {&recursive_, &authoritative_, &parent_});
    }
    if (!any_ok(tcp_)) {
      return verdict(Verdict::ServerDown,
                     fmt::format("{} resolves and its network answers, but no address accepts "
                                 "connections on the service port ({})",
                                 cycle_.domain, to_string(common_failure(tcp_))),
                     {&tcp_});
    }
    if (!https_.empty() && !any_ok(https_)) {
      return web_verdict();
    }
    return verdict(Verdict::Ok, fmt::format("{} works from this vantage", cycle_.domain), {});
  }

 private:
  bool vanished() const {
    const bool parent_says_gone =
        std::any_of(parent_.begin(), parent_.end(),
                    [](auto* r) { return r->failure == Failure::NxDomain; }) &&
        cycle_.nameservers.empty();
    const bool resolvers_say_gone =
        all_match(recursive_, [](const ProbeResult& r) { return r.failure == Failure::NxDomain; });
    return parent_says_gone || resolvers_say_gone;
  }

  Reading web_verdict() {
    const Failure failure = common_failure(https_);
    if (is_tls_failure(failure)) {
      return verdict(
          Verdict::TlsFailure,
          fmt::format("TCP works but TLS fails on every address ({})", to_string(failure)),
          {&https_});
    }
    if (is_refusal(failure)) {
      return verdict(
          Verdict::ServerDown,
          fmt::format("connections are cut before TLS completes ({})", to_string(failure)),
          {&https_});
    }
    if (is_network_failure(failure) && common_phase(https_) == Phase::Connect) {
      return verdict(Verdict::RouteLoss,
                     fmt::format("addresses stopped answering between the TCP and the HTTPS probe "
                                 "({})",
                                 to_string(failure)),
                     {&https_});
    }
    if (failure == Failure::Internal) {
      return verdict(Verdict::Unknown, "the HTTPS probe could not run", {&https_});
    }
    return verdict(
        Verdict::HttpError,
        fmt::format("TLS works but HTTP fails on every address ({})", to_string(failure)),
        {&https_});
  }

  static Phase common_phase(const Results& results) {
    return results.empty() ? Phase::Connect : results.front()->phase;
  }

  Reading verdict(Verdict verdict, std::string summary,
                  std::initializer_list<const Results*> evidence_from) {
    Reading reading;
    reading.verdict = verdict;
    reading.summary = std::move(summary);
    for (const Results* results : evidence_from) {
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
  Results recursive_, parent_, authoritative_, tcp_, https_, control_;
};

}  // namespace

std::string describe(const ProbeResult& result) {
  std::string line = fmt::format("{} {} {}: {}", to_string(result.check), result.target,
                                 result.subject, to_string(result.failure));
  if (!result.native_kind.empty()) {
    line += fmt::format(" ({} {}", result.native_kind, result.native_code);
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
