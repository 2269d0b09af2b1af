#include "dns_delegation.hh"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "dns_message.hh"
#include "dnssec_wire.hh"

namespace vantage {
namespace {

constexpr size_t kMaxParentServers = 4;  // enough to see a split; TLDs have a dozen or more
constexpr int kMaxLabelSteps = 16;

std::string trim_dot(const std::string& name) {
  return (name.size() > 1 && name.back() == '.') ? name.substr(0, name.size() - 1) : name;
}

class Delegation : public std::enable_shared_from_this<Delegation> {
 public:
  Delegation(DnsExchanger exchange, std::vector<Endpoint> resolvers, const std::string& domain,
             std::chrono::milliseconds timeout, std::function<void(DelegationOutcome)> done)
      : exchange_(std::move(exchange)),
        resolvers_(std::move(resolvers)),
        domain_(trim_dot(domain)),
        timeout_(timeout),
        done_(std::move(done)) {}

  void start() {
    if (resolvers_.empty()) {
      done_(std::move(outcome_));
      return;
    }
    find_parent(parent_of(domain_), 0, 0);
  }

 private:
  // Walks up the name until a resolver reports a zone cut (an NS RRset) at it.
  void find_parent(const std::string& zone, size_t resolver, int step) {
    if (zone.empty() || step >= kMaxLabelSteps) {
      done_(std::move(outcome_));
      return;
    }
    DnsQuery query{zone, kTypeNs, true, resolvers_[resolver], timeout_};
    exchange_(query, Check::DnsParent,
              [self = shared_from_this(), zone, resolver, step](ProbeResult result) {
                self->on_parent_ns(zone, resolver, step, std::move(result));
              });
  }

  void on_parent_ns(const std::string& zone, size_t resolver, int step, ProbeResult result) {
    if (!result.ok() && result.failure != Failure::NxDomain) {
      if (resolver + 1 < resolvers_.size()) {
        find_parent(zone, resolver + 1, step);
        return;
      }
      result.detail = fmt::format("cannot find the parent zone's servers: {}", result.detail);
      outcome_.results.push_back(std::move(result));
      done_(std::move(outcome_));
      return;
    }
    std::vector<LastKnown::Nameserver> servers;
    if (result.ok() && result.dns) {
      for (const auto& record : result.dns->answers) {
        if (record.type == kTypeNs && same_name(record.name, zone)) {
          servers.push_back({record.data, addresses_of(result.dns->additional, record.data)});
        }
      }
    }
    if (servers.empty()) {
      find_parent(parent_of(zone), resolver, step + 1);
      return;
    }
    outcome_.parent_zone = zone == "." ? zone : zone + ".";
    parent_servers_ = std::move(servers);
    resolve_missing(parent_servers_, [self = shared_from_this()] { self->ask_parents(); });
  }

  // Fills in the addresses of nameservers that came without glue, through the resolvers.
  void resolve_missing(std::vector<LastKnown::Nameserver>& servers,
                       const std::function<void()>& then) {
    auto pending = std::make_shared<size_t>(0);
    auto finish_one = [pending, then] {
      if (--*pending == 0) {
        then();
      }
    };
    for (size_t i = 0; i < servers.size(); ++i) {
      if (!servers[i].addresses.empty()) {
        continue;
      }
      for (const uint16_t type : {kTypeA, kTypeAaaa}) {
        ++*pending;
        DnsQuery query{servers[i].name, type, true, resolvers_.front(), timeout_};
        exchange_(query, Check::DnsRecursive,
                  [self = shared_from_this(), &servers, i, finish_one](ProbeResult result) {
                    if (result.ok() && result.dns) {
                      for (const auto& record : result.dns->answers) {
                        if (record.type == kTypeA || record.type == kTypeAaaa) {
                          servers[i].addresses.push_back(record.data);
                        }
                      }
                    }
                    finish_one();
                  });
      }
    }
    if (*pending == 0) {
      then();
    }
  }

  // Up to kMaxParentServers addresses, taking each nameserver's first address before anyone's
  // second, so that one broken server cannot hide the others.
  std::vector<std::pair<std::string, Endpoint>> choose_parent_addresses() const {
    std::vector<std::pair<std::string, Endpoint>> chosen;
    for (size_t round = 0; chosen.size() < kMaxParentServers; ++round) {
      bool any = false;
      for (const auto& server : parent_servers_) {
        if (round < server.addresses.size() && chosen.size() < kMaxParentServers) {
          any = true;
          if (auto endpoint = parse_endpoint(server.addresses[round], 53)) {
            chosen.emplace_back(server.name, *endpoint);
          }
        }
      }
      if (!any) {
        break;
      }
    }
    return chosen;
  }

  void ask_parents() {
    const auto chosen = choose_parent_addresses();
    if (chosen.empty()) {
      done_(std::move(outcome_));
      return;
    }
    parents_pending_ = chosen.size();
    for (const auto& [name, endpoint] : chosen) {
      DnsQuery query{domain_, kTypeNs, false, endpoint, timeout_};
      exchange_(query, Check::DnsParent,
                [self = shared_from_this(), name = name](ProbeResult result) {
                  self->on_parent_answer(name, std::move(result));
                });
    }
  }

  void on_parent_answer(const std::string& parent_name, ProbeResult result) {
    result.subject += fmt::format(" @{}", parent_name);
    if (result.ok() && result.dns) {
      const auto& dns = *result.dns;
      // A referral carries the NS set in the authority section; a parent that also serves the
      // child answers it authoritatively.
      size_t found = 0;
      for (const auto* section : {&dns.authority, &dns.answers}) {
        for (const auto& record : *section) {
          if (record.type != kTypeNs || !same_name(record.name, domain_)) {
            continue;
          }
          ++found;
          add_nameserver(record.data, addresses_of(dns.additional, record.data));
        }
      }
      if (found > 0) {
        result.detail = fmt::format("delegated to {} nameserver{}", found, found == 1 ? "" : "s");
        if (const std::string ds = delegation_signer_summary(dns); !ds.empty()) {
          result.detail += ", " + ds;
        }
      } else if (dns.authoritative) {
        result.detail = "NOERROR: not delegated, served by the parent zone itself";
        add_parent_as_authority(parent_name);
      } else {
        result.failure = Failure::Lame;
        result.detail = "NOERROR without a referral or the AA flag: not a server of the parent";
      }
    } else if (result.failure == Failure::NxDomain) {
      result.detail =
          fmt::format("NXDOMAIN: {} does not delegate {}", outcome_.parent_zone, domain_);
    }
    outcome_.results.push_back(std::move(result));
    if (--parents_pending_ == 0) {
      resolve_missing(outcome_.nameservers,
                      [self = shared_from_this()] { self->done_(std::move(self->outcome_)); });
    }
  }

  void add_nameserver(const std::string& name, std::vector<std::string> glue) {
    const auto known =
        std::find_if(outcome_.nameservers.begin(), outcome_.nameservers.end(),
                     [&](const auto& server) { return same_name(server.name, name); });
    if (known == outcome_.nameservers.end()) {
      outcome_.nameservers.push_back({trim_dot(name), std::move(glue)});
      return;
    }
    for (auto& address : glue) {
      if (std::find(known->addresses.begin(), known->addresses.end(), address) ==
          known->addresses.end()) {
        known->addresses.push_back(std::move(address));
      }
    }
  }

  void add_parent_as_authority(const std::string& parent_name) {
    for (const auto& server : parent_servers_) {
      if (same_name(server.name, parent_name)) {
        add_nameserver(server.name, server.addresses);
      }
    }
  }

  DnsExchanger exchange_;
  std::vector<Endpoint> resolvers_;
  std::string domain_;
  std::chrono::milliseconds timeout_;
  std::function<void(DelegationOutcome)> done_;
  DelegationOutcome outcome_;
  std::vector<LastKnown::Nameserver> parent_servers_;
  size_t parents_pending_ = 0;
};

}  // namespace

std::string parent_of(const std::string& name) {
  const std::string trimmed = trim_dot(name);
  if (trimmed.empty() || trimmed == ".") {
    return "";
  }
  const auto dot = trimmed.find('.');
  return dot == std::string::npos ? "." : trimmed.substr(dot + 1);
}

void probe_delegation(const DnsExchanger& exchange, const std::vector<Endpoint>& resolvers,
                      const std::string& domain, std::chrono::milliseconds timeout,
                      std::function<void(DelegationOutcome)> done) {
  std::make_shared<Delegation>(exchange, resolvers, domain, timeout, std::move(done))->start();
}

}  // namespace vantage
