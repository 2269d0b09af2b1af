#include "daemon.hh"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "agent_identity.hh"
#include "collector_client.hh"
#include "config_file.hh"
#include "config_node.hh"
#include "cycle.hh"
#include "event_loop.hh"
#include "last_known.hh"
#include "printable.hh"
#include "result_json.hh"
#include "spool.hh"
#include "uploader.hh"

namespace vantage {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kTargetsPollMin{10'000};

std::string read_token(const std::string& file) {
  std::string token;
  try {
    token = read_config_file(file, kMaxConfigFileBytes);
  } catch (const FileError& error) {
    throw ConfigError(fmt::format("{}: cannot read the token file: {}", file, error.what()));
  }
  token.resize(std::min(token.find('\n'), token.size()));
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) {
    throw ConfigError(file + ": the token file is empty");
  }
  return token;
}

// A target from the collector, or nothing (with a warning) if this agent cannot probe it as
// asked: a kind it does not know, a CA file it cannot read, a body_regex that does not compile
// here (a collector older than this agent may hold a pattern only its own engine accepted). One
// bad target must not cost the others.
std::optional<TargetConfig> target_from_json(const nlohmann::json& json) {
  TargetConfig target;
  target.domain = json.at("domain").get<std::string>();
  const auto kind_text = json.value("kind", std::string("https"));
  const auto kind = target_kind_from_string(kind_text);
  if (!kind) {
    spdlog::warn("collector target {} skipped: this agent does not know the kind \"{}\"",
                 printable(target.domain), printable(kind_text));
    return std::nullopt;
  }
  target.kind = *kind;
  target.port = json.value("port", 443);
  target.path = json.value("path", std::string("/"));
  target.expect_status = json.value("expect_status", std::vector<int>{});
  target.ca_file = json.value("ca_file", std::string());
  target.insecure = json.value("insecure", false);
  if (const auto warn_before = json.find("warn_before"); warn_before != json.end()) {
    if (const auto problem = read_expiry_thresholds(*warn_before, target.warn_before);
        !problem.empty()) {
      spdlog::warn("collector target {}: {}; the defaults apply", printable(target.domain),
                   printable(problem));
      target.warn_before = {};
    }
  }
  if (!target.ca_file.empty() && access(target.ca_file.c_str(), R_OK) != 0) {
    spdlog::warn("collector target {} skipped: its ca_file {} cannot be read here: {}",
                 printable(target.domain), printable(target.ca_file), std::strerror(errno));
    return std::nullopt;
  }
  const auto regex = json.value("body_regex", std::string());
  auto compiled = BodyPattern::compile(regex);
  if (!compiled.error.empty()) {
    spdlog::warn(
        "collector target {} skipped: its body_regex \"{}\" is not a valid regular "
        "expression (RE2 syntax): {}",
        printable(target.domain), printable(regex), printable(compiled.error));
    return std::nullopt;
  }
  target.body_regex = std::move(compiled.pattern);
  return target;
}

class AgentDaemon {
 public:
  AgentDaemon(std::string config_file, AgentConfig config)
      : config_file_(std::move(config_file)),
        config_(std::move(config)),
        engine_(loop_, config_.max_concurrent_probes),
        identity_(load_agent_identity(config_.state_dir)),
        spool_(config_.state_dir / "spool", config_.spool_max_bytes),
        token_(read_token(config_.token_file)),
        client_(engine_.curl(), config_.collector_url, token_, config_.collector_ca_file),
        uploader_(loop_, spool_, client_, config_.name, identity_.epoch),
        random_(std::random_device{}()) {}

  int run() {
    watch_signals();
    spdlog::info(
        "vantage-agent {} {} starting: {} targets every {} ms, collector {}, {}epoch {}, spool {} "
        "results (acknowledged through seq {})",
        VANTAGE_VERSION, config_.name, config_.targets.size(), config_.interval.count(),
        config_.collector_url, identity_.created ? "state directory new: " : "", identity_.epoch,
        spool_.depth(), spool_.last_acknowledged());
    apply_targets();
    send_heartbeat();
    poll_targets();
    uploader_.upload();
    loop_.run();
    spdlog::info("vantage-agent {} stopped; {} results left in the spool", config_.name,
                 spool_.depth());
    return 0;
  }

 private:
  struct Scheduled {
    TargetConfig target;
    EventLoop::TimerId timer = 0;
    Clock::time_point next;
    bool running = false;
    LastKnown last_known;
    std::optional<Verdict> reading;  // the last cycle's; nullopt before the first
  };

  // --- signals: SIGTERM/SIGINT stop, SIGHUP reloads the config file -------------------------
  void watch_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    loop_.watch(signal_fd_, EPOLLIN, [this](uint32_t) {
      signalfd_siginfo info{};
      while (read(signal_fd_, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGHUP) {
          reload();
        } else {
          spdlog::info("signal {}: stopping", info.ssi_signo);
          loop_.stop();
        }
      }
    });
  }

  void reload() {
    try {
      AgentConfig fresh = load_agent_config(config_file_);
      // Read before anything changes: an unreadable token file refuses the whole reload.
      std::string token = read_token(fresh.token_file);
      if (fresh.name != config_.name || fresh.state_dir != config_.state_dir) {
        spdlog::warn("reload: agent.name and agent.state_dir take effect only after a restart");
      }
      if (fresh.collector_url != config_.collector_url ||
          fresh.collector_ca_file != config_.collector_ca_file || token != token_) {
        config_.collector_url = std::move(fresh.collector_url);
        config_.collector_ca_file = std::move(fresh.collector_ca_file);
        config_.token_file = std::move(fresh.token_file);
        token_ = std::move(token);
        client_.reconfigure(config_.collector_url, token_, config_.collector_ca_file);
        spdlog::info("reload: collector {} (token from {}); {} spooled results go there now",
                     config_.collector_url, config_.token_file, spool_.depth());
        targets_etag_.clear();  // another collector's targets are not these
        loop_.cancel_timer(heartbeat_timer_);
        send_heartbeat();
        uploader_.retry_now();
      }
      const bool interval_changed = fresh.interval != config_.interval;
      config_.targets = std::move(fresh.targets);
      config_.resolvers = std::move(fresh.resolvers);
      config_.control_targets = std::move(fresh.control_targets);
      config_.timeout = fresh.timeout;
      config_.interval = fresh.interval;
      config_.asn_database = std::move(fresh.asn_database);
      if (interval_changed) {
        for (auto& [domain, scheduled] : schedule_) {
          loop_.cancel_timer(scheduled.timer);
        }
        schedule_.clear();
      }
      apply_targets();
      spdlog::info("reloaded {}: {} targets from the file, {} from the collector", config_file_,
                   config_.targets.size(), collector_targets_.size());
    } catch (const ConfigError& error) {
      spdlog::error("reload refused, keeping the running config: {}", error.what());
    }
  }

  // --- scheduling ------------------------------------------------------------------------------
  std::vector<TargetConfig> wanted_targets() const {
    std::vector<TargetConfig> wanted = config_.targets;
    for (const auto& target : collector_targets_) {
      const bool in_file = std::any_of(wanted.begin(), wanted.end(),
                                       [&](const auto& t) { return t.domain == target.domain; });
      if (!in_file) {  // the file wins: a local override must not be undone remotely
        wanted.push_back(target);
      }
    }
    return wanted;
  }

  // Starts new targets at evenly spread, jittered offsets within one interval so that N targets
  // never start in one burst; stops removed ones; updates changed ones in place.
  void apply_targets() {
    const auto wanted = wanted_targets();
    for (auto it = schedule_.begin(); it != schedule_.end();) {
      const bool keep = std::any_of(wanted.begin(), wanted.end(),
                                    [&](const auto& t) { return t.domain == it->first; });
      if (keep) {
        ++it;
        continue;
      }
      spdlog::info("target {} removed", it->first);
      loop_.cancel_timer(it->second.timer);
      it = schedule_.erase(it);
    }
    const auto slot = config_.interval / std::max<size_t>(1, wanted.size());
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    size_t index = 0;
    for (const auto& target : wanted) {
      auto found = schedule_.find(target.domain);
      if (found != schedule_.end()) {
        found->second.target = target;
        ++index;
        continue;
      }
      Scheduled scheduled;
      scheduled.target = target;
      scheduled.last_known =
          load_last_known(config_.state_dir, target.domain).value_or(LastKnown{});
      const auto offset = std::chrono::duration_cast<milliseconds>(
          slot * (static_cast<double>(index) + jitter(random_)));
      scheduled.next = Clock::now() + offset;
      auto& entry = schedule_[target.domain] = std::move(scheduled);
      arm(target.domain, entry);
      spdlog::info("target {} scheduled, first cycle in {} ms", target.domain, offset.count());
      ++index;
    }
  }

  void arm(const std::string& domain, Scheduled& scheduled) {
    scheduled.timer = loop_.add_timer(scheduled.next, [this, domain] { tick(domain); });
  }

  void tick(const std::string& domain) {
    auto found = schedule_.find(domain);
    if (found == schedule_.end()) {
      return;
    }
    Scheduled& scheduled = found->second;
    // Keep the phase: the next start is one interval after this one's planned start, not after
    // whenever the loop got round to it.
    scheduled.next += config_.interval;
    if (scheduled.next < Clock::now()) {
      scheduled.next = Clock::now() + config_.interval;
    }
    arm(domain, scheduled);
    if (scheduled.running) {
      spdlog::warn("{}: previous cycle still running, skipping this interval", domain);
      return;
    }
    scheduled.running = true;
    run_cycle(engine_, options_for(scheduled),
              [this, domain](const CycleResult& cycle) { on_cycle(domain, cycle); });
  }

  CycleOptions options_for(const Scheduled& scheduled) const {
    CycleOptions options;
    options.domain = scheduled.target.domain;
    options.kind = scheduled.target.kind;
    options.resolvers = config_.resolvers;
    options.port = scheduled.target.port;
    options.path = scheduled.target.path;
    options.expect_status = scheduled.target.expect_status;
    options.body_regex = scheduled.target.body_regex;
    options.ca_file = scheduled.target.ca_file;
    options.insecure = scheduled.target.insecure;
    options.warn_before = scheduled.target.warn_before;
    options.timeout = config_.timeout;
    options.last_known = scheduled.last_known;
    options.control_targets = config_.control_targets;
    options.network_lookup = network_lookup(config_.asn_database);
    return options;
  }

  // Every probe at debug; at info, one line when the target's reading changes (and its first),
  // with the summary and the evidence line that decided it.
  static void log_cycle(const std::string& domain, const CycleResult& cycle,
                        std::optional<Verdict> previous) {
    for (const ProbeResult& probe : cycle.results) {
      spdlog::debug("{}: {} {}: {}{}{}", domain, to_string(probe.check), printable(probe.target),
                    probe.ok() ? "ok" : to_string(probe.failure),
                    probe.timings.total
                        ? fmt::format(" in {:.1f} ms", probe.timings.total->count() / 1000.0)
                        : "",
                    probe.detail.empty() ? "" : " (" + printable(probe.detail) + ")");
    }
    if (previous == cycle.reading.verdict) {
      return;
    }
    spdlog::info(
        "{}: {} -> {}: {}{}", domain, previous ? to_string(*previous) : "(first cycle)",
        to_string(cycle.reading.verdict), printable(cycle.reading.summary),
        cycle.reading.evidence.empty() ? "" : "; " + printable(cycle.reading.evidence.front()));
  }

  void on_cycle(const std::string& domain, const CycleResult& cycle) {
    const auto found = schedule_.find(domain);
    if (found != schedule_.end()) {
      log_cycle(domain, cycle, found->second.reading);
      found->second.reading = cycle.reading.verdict;
      found->second.running = false;
      if (cycle.reading.verdict == Verdict::Ok) {
        found->second.last_known = cycle.next_last_known();
        save_last_known(config_.state_dir, domain, found->second.last_known);
      }
    }
    const uint64_t seq = spool_.append(to_json(cycle).dump());
    spdlog::debug("{}: {} (seq {})", domain, to_string(cycle.reading.verdict), seq);
    uploader_.upload();
  }

  // --- heartbeats and central targets --------------------------------------------------------
  void send_heartbeat() {
    const auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count();
    nlohmann::json beat = {{"agent", config_.name},
                           {"version", VANTAGE_VERSION},
                           {"uptime_s", uptime},
                           {"spool_depth", spool_.depth()},
                           {"spool_dropped", spool_.dropped()},
                           {"epoch", identity_.epoch},
                           {"interval_ms", config_.interval.count()}};
    if (config_.asn) {
      beat["asn"] = *config_.asn;
    }
    client_.request("POST", "/api/v1/heartbeat", beat.dump(), "", [](HttpReply reply) {
      if (reply.curl_code != 0 || reply.status != 200) {
        spdlog::debug("heartbeat not delivered ({})", reply.curl_code != 0
                                                          ? transfer_failure(reply)
                                                          : fmt::format("HTTP {}", reply.status));
      }
    });
    heartbeat_timer_ = loop_.add_timer(config_.interval, [this] { send_heartbeat(); });
  }

  void poll_targets() {
    client_.request("GET", "/api/v1/targets", "", targets_etag_, [this](HttpReply reply) {
      if (reply.curl_code == 0 && reply.status == 200) {
        try {
          const auto json = nlohmann::json::parse(reply.body);
          std::vector<TargetConfig> targets;
          for (const auto& item : json.at("targets")) {
            if (auto target = target_from_json(item)) {
              targets.push_back(std::move(*target));
            }
          }
          collector_targets_ = std::move(targets);
          targets_etag_ = reply.etag;
          spdlog::info("collector targets: {} (version {})", collector_targets_.size(),
                       json.value("version", 0));
          apply_targets();
        } catch (const std::exception& error) {
          spdlog::warn("collector sent a target list this agent cannot read: {}", error.what());
        }
      } else if (reply.status != 304) {
        spdlog::debug("targets not fetched ({})", reply.curl_code != 0
                                                      ? transfer_failure(reply)
                                                      : fmt::format("HTTP {}", reply.status));
      }
    });
    loop_.add_timer(std::max(kTargetsPollMin, config_.interval / 2), [this] { poll_targets(); });
  }

  std::string config_file_;
  AgentConfig config_;
  EventLoop loop_;
  Engine engine_;
  AgentIdentity identity_;  // before the spool: nothing is numbered without an epoch on disk
  Spool spool_;
  std::string token_;  // read from config_.token_file at start and at each reload
  CollectorClient client_;
  Uploader uploader_;
  std::mt19937_64 random_;
  std::map<std::string, Scheduled> schedule_;
  std::vector<TargetConfig> collector_targets_;
  std::string targets_etag_;
  Clock::time_point started_ = Clock::now();
  int signal_fd_ = -1;
  EventLoop::TimerId heartbeat_timer_ = 0;
};

}  // namespace

int run_agent_daemon(const std::string& config_file, AgentConfig config) {
  AgentDaemon daemon(config_file, std::move(config));
  return daemon.run();
}

}  // namespace vantage
