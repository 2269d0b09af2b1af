#include "lab.hh"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace vantage::lab {
namespace {

using Clock = std::chrono::steady_clock;

std::filesystem::path from_env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::filesystem::path(value)
                                            : std::filesystem::path(fallback);
}

void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Reads what is available; false once the pipe is at end of file (or broken).
bool drain(int fd, std::string& into) {
  std::array<char, 8192> buffer{};
  for (;;) {
    const ssize_t got = read(fd, buffer.data(), buffer.size());
    if (got > 0) {
      into.append(buffer.data(), static_cast<size_t>(got));
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    }
    if (got < 0 && errno == EINTR) {
      continue;
    }
    return false;
  }
}

std::string join(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& word : words) {
    line += (line.empty() ? "" : " ") + word;
  }
  return line;
}

std::mutex timings_mutex;
std::vector<ScenarioTiming> timings;

}  // namespace

const std::vector<std::string>& EvidenceWords::web_route_present() {
  static const std::vector<std::string> kWords = {"same 203.0.113.0/24", "same /24", "203.0.113.53",
                                                  "203.0.113.54"};
  return kWords;
}

const std::vector<std::string>& EvidenceWords::web_port_route_present() {
  static const std::vector<std::string> kWords = {
      "same 203.0.113.0/24",  "same /24",
      "203.0.113.53",         "203.0.113.54",
      "203.0.113.80 answers", "2001:db8:500::80 answers",
  };
  return kWords;
}

const std::vector<std::string>& EvidenceWords::dns_route_present() {
  static const std::vector<std::string> kWords = {"same 203.0.113.0/24", "same /24", "203.0.113.80",
                                                  "route present"};
  return kWords;
}

const std::vector<std::string>& EvidenceWords::route_lost() {
  static const std::vector<std::string> kWords = {"route lost", "before 203.0.113.0/24",
                                                  "before 2001:db8:500::/48"};
  return kWords;
}

std::string first_mention(const nlohmann::json& lines, const std::vector<std::string>& words) {
  if (!lines.is_array()) {
    return {};
  }
  for (const auto& line : lines) {
    if (!line.is_string()) {
      continue;
    }
    const auto text = line.get<std::string>();
    for (const auto& word : words) {
      if (text.find(word) != std::string::npos) {
        return text;
      }
    }
  }
  return {};
}

std::string address_of(std::string_view target) {
  if (!target.empty() && target.front() == '[') {
    const auto close = target.find(']');
    return std::string(target.substr(1, close == std::string_view::npos ? target.npos : close - 1));
  }
  if (std::count(target.begin(), target.end(), ':') == 1) {
    return std::string(target.substr(0, target.find(':')));
  }
  return std::string(target);
}

const std::vector<Vantage>& vantages() {
  static const std::vector<Vantage> kVantages = {
      {"vp1", "192.0.2.2", "2001:db8:a1::2"},
      {"vp2", "192.0.2.66", "2001:db8:a2::2"},
      {"vp3", "192.0.2.130", "2001:db8:a3::2"},
  };
  return kVantages;
}

const Vantage& vantage(std::string_view name) {
  for (const auto& v : vantages()) {
    if (v.name == name) {
      return v;
    }
  }
  throw std::invalid_argument("no vantage " + std::string(name));
}

CommandResult run(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  CommandResult result;
  const auto started = Clock::now();
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // A process group of its own, so that a timeout can stop the command and whatever it started
    // in the foreground (the lab's daemons detach into sessions of their own).
    setpgid(0, 0);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, STDIN_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  set_nonblocking(out_pipe[0]);
  set_nonblocking(err_pipe[0]);

  const auto deadline = started + timeout;
  bool out_open = true;
  bool err_open = true;
  int status = 0;
  bool exited = false;
  while (!exited) {
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    poll(fds, 2, 50);
    if (out_open) {
      out_open = drain(out_pipe[0], result.out);
    }
    if (err_open) {
      err_open = drain(err_pipe[0], result.err);
    }
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      exited = true;
    } else if (Clock::now() >= deadline) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      exited = true;
    }
  }
  // Whatever the command wrote before it exited; never wait for a pipe that a stray background
  // process might still hold open.
  drain(out_pipe[0], result.out);
  drain(err_pipe[0], result.err);
  close(out_pipe[0]);
  close(err_pipe[0]);
  result.exit_code = !result.timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.elapsed = Clock::now() - started;
  return result;
}

std::string ProbeRun::verdict() const {
  if (!doc.is_object() || !doc.contains("reading")) {
    return "(no JSON document)";
  }
  return doc["reading"].value("verdict", "(no verdict)");
}

std::vector<nlohmann::json> ProbeRun::results(std::string_view check) const {
  std::vector<nlohmann::json> selected;
  if (doc.is_object() && doc.contains("results")) {
    for (const auto& result : doc["results"]) {
      if (result.value("check", "") == check) {
        selected.push_back(result);
      }
    }
  }
  return selected;
}

std::set<std::string> ProbeRun::failures(std::string_view check) const {
  std::set<std::string> classes;
  for (const auto& result : results(check)) {
    classes.insert(result.value("failure", "?"));
  }
  return classes;
}

std::set<std::string> ProbeRun::addresses(std::string_view kind) const {
  std::set<std::string> found;
  if (doc.is_object() && doc.contains("addresses") && doc["addresses"].contains(kind)) {
    for (const auto& address : doc["addresses"][std::string(kind)]) {
      found.insert(address.get<std::string>());
    }
  }
  return found;
}

std::vector<nlohmann::json> ProbeRun::results_for(std::string_view check,
                                                  std::string_view address) const {
  std::vector<nlohmann::json> selected;
  for (const auto& result : results(check)) {
    if (address_of(result.value("target", "")) == address) {
      selected.push_back(result);
    }
  }
  return selected;
}

nlohmann::json ProbeRun::evidence() const {
  nlohmann::json lines = nlohmann::json::array();
  if (doc.is_object() && doc.contains("reading")) {
    const auto& reading = doc["reading"];
    lines.push_back(reading.value("summary", ""));
    for (const auto& line : reading.value("evidence", nlohmann::json::array())) {
      lines.push_back(line);
    }
  }
  return lines;
}

std::string ProbeRun::describe() const {
  std::ostringstream text;
  text << "from " << vantage << ": " << join(command) << "\n"
       << "exit " << outcome.exit_code << (outcome.timed_out ? " (timed out)" : "") << " after "
       << outcome.elapsed.count() << " s\n";
  if (!outcome.err.empty()) {
    text << "stderr: " << outcome.err << "\n";
  }
  if (!doc.is_object()) {
    text << "stdout (not JSON): " << outcome.out.substr(0, 2000) << "\n";
    return text.str();
  }
  const auto& reading = doc["reading"];
  text << "reading: " << reading.value("verdict", "?") << ": " << reading.value("summary", "")
       << "\n";
  for (const auto& line : reading.value("evidence", nlohmann::json::array())) {
    text << "  evidence: " << (line.is_string() ? line.get<std::string>() : line.dump()) << "\n";
  }
  for (const auto& result : doc["results"]) {
    text << "  " << result.value("check", "?") << " " << result.value("target", "?") << " "
         << result.value("subject", "") << ": " << result.value("failure", "?");
    if (!result.value("native_kind", "").empty()) {
      text << " (" << result.value("native_kind", "") << " " << result.value("native_code", 0)
           << ", " << result.value("detail", "") << ")";
    }
    if (result.contains("path") && result["path"].is_object()) {
      text << " path:";
      for (const auto& hop : result["path"].value("hops", nlohmann::json::array())) {
        const std::string address = hop.value("address", "");
        text << " " << (address.empty() ? "*" : address);
      }
      text << (result["path"].value("reached_destination", false) ? " (reached the destination)"
               : result["path"].value("reached_network", false)   ? " (reached its network)"
                                                                  : "");
    }
    text << "\n";
  }
  return text.str();
}

Lab& Lab::get() {
  static Lab lab;
  return lab;
}

Lab::Lab()
    : script_(from_env("VANTAGE_LAB_SCRIPT", VANTAGE_LAB_SCRIPT)),
      agent_(from_env("VANTAGE_AGENT", VANTAGE_AGENT_PATH)),
      dir_(from_env("VANTAGE_LAB_DIR", "/run/vantage-lab")) {}

CommandResult Lab::lab(const std::vector<std::string>& args, std::chrono::seconds timeout) const {
  std::vector<std::string> argv = {script_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, timeout);
}

ProbeRun Lab::probe(std::string_view name) const {
  const Vantage& v = vantage(name);
  ProbeRun probe;
  probe.vantage = v.name;
  // Exactly what an operator would type inside the vantage's network. The state directory keeps
  // the last known addresses between cycles, as the agent's own state directory does.
  probe.command = {"ip",
                   "netns",
                   "exec",
                   "vlab-" + v.name,
                   agent_.string(),
                   "probe",
                   std::string(kDomain),
                   "--resolver",
                   v.resolver_v4,
                   "--resolver",
                   "[" + v.resolver_v6 + "]",
                   "--ca",
                   (dir_ / "tls" / "ca.crt").string(),
                   "--state-dir",
                   (dir_ / v.name / "test-agent").string(),
                   "--control",
                   std::string(kControlRoot),
                   "--control",
                   std::string(kControlTld),
                   "--timeout",
                   "2s",
                   "--json"};
  probe.outcome = run(probe.command, std::chrono::seconds(60));
  try {
    probe.doc = nlohmann::json::parse(probe.outcome.out);
  } catch (const nlohmann::json::exception&) {
    probe.doc = nullptr;
  }
  return probe;
}

std::vector<ProbeRun> Lab::probe_all() const {
  // In parallel, as the agents of different networks would run: a scenario that makes every
  // probe time out then costs one timeout, not one per vantage.
  std::vector<std::future<ProbeRun>> pending;
  for (const auto& v : vantages()) {
    pending.push_back(std::async(std::launch::async, [this, &v] { return probe(v.name); }));
  }
  std::vector<ProbeRun> runs;
  for (auto& one : pending) {
    runs.push_back(one.get());
  }
  return runs;
}

std::vector<ProbeRun> Lab::wait_all_ok(std::chrono::seconds within) const {
  const auto deadline = Clock::now() + within;
  for (;;) {
    std::vector<ProbeRun> runs = probe_all();
    const bool all_ok = std::all_of(runs.begin(), runs.end(),
                                    [](const ProbeRun& run) { return run.verdict() == "OK"; });
    if (all_ok || Clock::now() >= deadline) {
      return runs;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

Breakage::Breakage(std::vector<std::string> scenario) : scenario_(std::move(scenario)) {
  std::vector<std::string> args = {"break"};
  args.insert(args.end(), scenario_.begin(), scenario_.end());
  const CommandResult result = Lab::get().lab(args);
  if (result.exit_code != 0) {
    // Whatever part of it happened must still be undone.
    fix();
    throw std::runtime_error("scripts/lab " + join(args) + " failed (exit " +
                             std::to_string(result.exit_code) + "):\n" + result.out + result.err);
  }
}

Breakage::~Breakage() {
  if (!fixed_) {
    fix();
  }
}

CommandResult Breakage::fix() {
  fixed_ = true;
  return Lab::get().lab({"fix"});
}

void record_timing(ScenarioTiming timing) {
  std::lock_guard lock(timings_mutex);
  timings.push_back(std::move(timing));
}

std::string timing_table() {
  std::lock_guard lock(timings_mutex);
  std::ostringstream table;
  char line[256];
  std::snprintf(line, sizeof(line), "%-20s %-42s %7s %7s %7s %7s\n", "scenario", "readings",
                "break", "probes", "fix", "to OK");
  table << line;
  for (const auto& t : timings) {
    std::snprintf(line, sizeof(line), "%-20s %-42s %6.1fs %6.1fs %6.1fs %6.1fs\n",
                  t.scenario.c_str(), t.readings.c_str(), t.break_s, t.probe_s, t.fix_s,
                  t.back_to_ok_s);
    table << line;
  }
  return table.str();
}

}  // namespace vantage::lab
