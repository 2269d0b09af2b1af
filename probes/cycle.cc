#include "cycle.hh"

#include <algorithm>
#include <memory>

#include "ares_driver.hh"
#include "curl_driver.hh"
#include "dns_authoritative.hh"
#include "dns_delegation.hh"
#include "dns_keys.hh"
#include "dns_message.hh"
#include "dns_recursive.hh"
#include "event_loop.hh"
#include "expiry.hh"
#include "http.hh"
#include "liveness.hh"
#include "path_trace.hh"
#include "reading.hh"
#include "tcp_connect.hh"

namespace vantage {

Engine::Engine(EventLoop& loop, size_t max_concurrent_probes)
    : loop_(loop),
      ares_(std::make_unique<AresLibrary>()),
      curl_(std::make_unique<CurlMulti>(loop)),
      limiter_(max_concurrent_probes) {}

Engine::~Engine() = default;

namespace {

void add_unique(std::vector<std::string>& list, const std::vector<std::string>& more) {
  for (const auto& item : more) {
    if (std::find(list.begin(), list.end(), item) == list.end()) {
      list.push_back(item);
    }
  }
}

// Runs one target's probes stage by stage: DNS (recursive, delegation, then authoritative, and
// the zone's keys when the parent holds a DS), then TCP to every address found or remembered,
// then HTTPS or HTTP to every address that accepted. A target named by its address starts at
// TCP; a tcp target stops there.
class Cycle : public std::enable_shared_from_this<Cycle> {
 public:
  Cycle(Engine& engine, CycleOptions options, std::function<void(CycleResult)> done)
      : engine_(engine), options_(std::move(options)), done_(std::move(done)) {
    result_.domain = options_.domain;
    result_.last_known_used = options_.last_known;
  }

  void start() {
    result_.started_at = std::chrono::system_clock::now();
    started_ = std::chrono::steady_clock::now();
    resolvers_ = options_.resolvers.empty() ? system_resolvers() : options_.resolvers;
    exchange_ = [&engine = engine_](const DnsQuery& query, Check check, ProbeDone done) {
      engine.limiter().acquire([&engine, query, check, done = std::move(done)]() mutable {
        dns_exchange(engine.loop(), query, check,
                     [&engine, done = std::move(done)](ProbeResult result) {
                       engine.limiter().release();
                       done(std::move(result));
                     });
      });
    };

    begin_stage();  // held open until every DNS probe has been started
    for (const auto& control : options_.control_targets) {
      start_tcp(control, Check::Control);
    }
    if (is_address_name(options_.domain)) {
      end_stage();
      return;
    }
    for (const auto& resolver : resolvers_) {
      for (const uint16_t type : {kTypeA, kTypeAaaa}) {
        begin_stage();
        probe_dns_recursive(exchange_, resolver, options_.domain, type, options_.timeout,
                            [self = shared_from_this()](ProbeResult result) {
                              add_unique(self->result_.recursive_addresses,
                                         answer_addresses(result));
                              self->record(std::move(result));
                            });
      }
    }
    begin_stage();
    probe_delegation(exchange_, resolvers_, options_.domain, options_.timeout,
                     [self = shared_from_this()](DelegationOutcome outcome) {
                       self->on_delegation(std::move(outcome));
                     });
    end_stage();
  }

 private:
  void on_delegation(DelegationOutcome outcome) {
    // A DS at the parent is checked against the keys the zone's own servers serve.
    const bool signed_delegation = std::any_of(
        outcome.results.begin(), outcome.results.end(),
        [](const ProbeResult& r) { return r.ok() && r.dns && !r.dns->delegation_signers.empty(); });
    for (auto& result : outcome.results) {
      result_.results.push_back(std::move(result));
    }
    result_.nameservers = std::move(outcome.nameservers);
    // The parent could not be asked, or did not answer: fall back to the nameservers this
    // vantage saw last time, so that their reachability is still tested.
    const auto& nameservers =
        result_.nameservers.empty() ? options_.last_known.nameservers : result_.nameservers;
    for (const auto& nameserver : nameservers) {
      for (const auto& address : nameserver.addresses) {
        const auto server = parse_endpoint(address, 53);
        if (!server) {
          continue;
        }
        for (const uint16_t type : {kTypeA, kTypeAaaa}) {
          begin_stage();
          probe_dns_authoritative(
              exchange_, *server, nameserver.name, options_.domain, type, options_.timeout,
              [self = shared_from_this()](ProbeResult result) {
                if (result.ok()) {
                  add_unique(self->result_.authoritative_addresses, answer_addresses(result));
                }
                self->record(std::move(result));
              });
        }
        if (signed_delegation) {
          begin_stage();
          probe_dns_keys(
              exchange_, *server, nameserver.name, options_.domain, options_.timeout,
              [self = shared_from_this()](ProbeResult result) { self->record(std::move(result)); });
        }
      }
    }
    end_stage();
  }

  void record(ProbeResult result) {
    result_.results.push_back(std::move(result));
    end_stage();
  }

  void begin_stage() { ++pending_; }

  void end_stage() {
    if (--pending_ > 0) {
      return;
    }
    switch (stage_) {
      case Stage::Dns:
        stage_ = Stage::Tcp;
        start_tcp_stage();
        break;
      case Stage::Tcp:
        stage_ = Stage::Request;
        begin_stage();
        start_evidence();
        start_request_stage();
        end_stage();
        break;
      case Stage::Request:
        finish();
        break;
    }
  }

  void start_tcp_stage() {
    std::vector<std::string> addresses = result_.recursive_addresses;
    if (is_address_name(options_.domain)) {
      addresses.push_back(options_.domain);
    }
    add_unique(addresses, result_.authoritative_addresses);
    add_unique(addresses, options_.last_known.addresses);
    begin_stage();
    for (const auto& address : addresses) {
      if (auto endpoint = parse_endpoint(address, options_.port)) {
        start_tcp(endpoint->with_port(options_.port), Check::Tcp);
      }
    }
    end_stage();
  }

  void start_tcp(const Endpoint& target, Check check) {
    begin_stage();
    engine_.limiter().acquire([self = shared_from_this(), target, check] {
      probe_tcp_connect(self->engine_.loop(), target, check, self->options_.timeout,
                        [self, target, check](ProbeResult result) {
                          self->engine_.limiter().release();
                          if (check == Check::Tcp && result.ok()) {
                            self->accepting_.push_back(target);
                          }
                          self->record(std::move(result));
                        });
    });
  }

  void start_request_stage() {
    if (options_.kind == TargetKind::Tcp) {
      return;
    }
    for (const auto& address : accepting_) {
      HttpRequest request;
      request.tls = options_.kind == TargetKind::Https;
      request.domain = options_.domain;
      request.address = address;
      request.path = options_.path;
      request.expect_status = options_.expect_status;
      request.body_regex = options_.body_regex;
      request.ca_file = options_.ca_file;
      request.insecure = options_.insecure;
      request.timeout = options_.timeout;
      begin_stage();
      engine_.limiter().acquire([self = shared_from_this(), request] {
        probe_http(self->engine_.curl(), request, [self](ProbeResult result) {
          self->engine_.limiter().release();
          self->record(std::move(result));
        });
      });
    }
  }

  // Every address that met silence (a TCP connect or an authoritative query that timed out) is
  // asked whether it answers anything at all, and traced: silence alone cannot tell a lost route
  // from a firewall or a dead server. Loud failures carry their own proof, and an OK cycle pays
  // nothing here.
  void start_evidence() {
    std::vector<Endpoint> silent;
    for (const auto& result : result_.results) {
      const bool traced = result.check == Check::Tcp || result.check == Check::DnsAuthoritative;
      if (!traced || result.failure != Failure::Timeout) {
        continue;
      }
      const auto endpoint = parse_endpoint(result.target, 0);
      const bool seen = endpoint && std::any_of(silent.begin(), silent.end(), [&](const auto& e) {
                          return e.ip() == endpoint->ip();
                        });
      if (endpoint && !seen) {
        silent.push_back(*endpoint);
      }
    }
    for (const auto& address : silent) {
      begin_stage();
      engine_.limiter().acquire([self = shared_from_this(), address] {
        // Another common port than the service's: a live host answers it with an RST.
        const uint16_t other_port = address.port() == 80 ? 443 : 80;
        probe_liveness(self->engine_.loop(), address, other_port, self->options_.timeout,
                       [self](std::vector<ProbeResult> results) {
                         self->engine_.limiter().release();
                         for (auto& result : results) {
                           self->result_.results.push_back(std::move(result));
                         }
                         self->end_stage();
                       });
      });
      begin_stage();
      engine_.limiter().acquire([self = shared_from_this(), address] {
        PathOptions path;
        path.timeout = self->options_.timeout;
        path.lookup = self->options_.network_lookup;
        probe_path(self->engine_.loop(), address, std::move(path), [self](ProbeResult result) {
          self->engine_.limiter().release();
          self->record(std::move(result));
        });
      });
    }
  }

  void finish() {
    result_.duration = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started_);
    result_.reading = read_cycle(result_);
    result_.reading.expiring =
        expiring(result_, options_.warn_before, std::chrono::system_clock::now());
    done_(std::move(result_));
  }

  enum class Stage { Dns, Tcp, Request };

  Engine& engine_;
  CycleOptions options_;
  std::function<void(CycleResult)> done_;
  CycleResult result_;
  std::vector<Endpoint> resolvers_;
  DnsExchanger exchange_;
  std::vector<Endpoint> accepting_;
  std::chrono::steady_clock::time_point started_;
  Stage stage_ = Stage::Dns;
  int pending_ = 0;
};

}  // namespace

void run_cycle(Engine& engine, CycleOptions options, std::function<void(CycleResult)> done) {
  std::make_shared<Cycle>(engine, std::move(options), std::move(done))->start();
}

}  // namespace vantage
