// The lab suite's own main: it builds the outage lab once (scripts/lab up), runs every scenario
// against it, and always takes it down again: after the run, on a failed assertion, and on
// Ctrl-C or SIGTERM. Without root it reports a visible skip (exit 77), except under
// VANTAGE_REQUIRE_LAB=1, where a lab that cannot run is a failure.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "lab.hh"

namespace {

namespace lab = vantage::lab;

bool lab_required() {
  const char* value = std::getenv("VANTAGE_REQUIRE_LAB");
  return value != nullptr && std::string(value) == "1";
}

int lab_unavailable(const std::string& reason) {
  if (lab_required()) {
    std::printf("FAILED: the outage lab cannot run, and VANTAGE_REQUIRE_LAB=1 requires it: %s\n",
                reason.c_str());
    std::fflush(stdout);
    return 1;
  }
  std::printf("SKIPPED: %s\n", reason.c_str());
  std::fflush(stdout);
  return lab::kSkipExitCode;
}

// What the signal handler runs, prepared before any signal can arrive: a handler may only fork,
// exec and wait.
std::string teardown_path;
char* teardown_argv[3];

void on_signal(int signal) {
  const pid_t pid = fork();
  if (pid == 0) {
    execv(teardown_argv[0], teardown_argv);
    _exit(127);
  }
  if (pid > 0) {
    int status = 0;
    waitpid(pid, &status, 0);
  }
  _exit(128 + signal);
}

void install_teardown_on_signals(const std::string& script) {
  teardown_path = script;
  static char down[] = "down";
  teardown_argv[0] = teardown_path.data();
  teardown_argv[1] = down;
  teardown_argv[2] = nullptr;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
    sigaction(signal, &action, nullptr);
  }
}

int down(const lab::Lab& the_lab) {
  const auto result = the_lab.lab({"down"}, std::chrono::seconds(60));
  std::printf("%s%s", result.out.c_str(), result.err.c_str());
  return result.exit_code;
}

}  // namespace

int main(int argc, char* argv[]) {
  Catch::Session session;
  if (int status = session.applyCommandLine(argc, argv); status != 0) {
    return status;
  }
  const auto& config = session.configData();
  if (config.showHelp || config.listTests || config.listTestNamesOnly || config.listTags ||
      config.listReporters) {
    return session.run();  // listing needs no lab
  }

  if (geteuid() != 0) {
    return lab_unavailable(
        "the outage lab needs root: it creates network namespaces and runs bird2, nsd, unbound "
        "and nginx inside them (run as root, e.g. sudo ctest -L lab)");
  }
  const lab::Lab& the_lab = lab::Lab::get();
  // A missing agent or lab script is a broken checkout or build, never a reason to skip.
  if (access(the_lab.agent().c_str(), X_OK) != 0) {
    std::printf(
        "FAILED: no vantage-agent at '%s' (build the vantage-agent target, or set "
        "VANTAGE_AGENT)\n",
        the_lab.agent().c_str());
    return 1;
  }
  if (access(the_lab.script().c_str(), X_OK) != 0) {
    std::printf("FAILED: no executable lab script at '%s'\n", the_lab.script().c_str());
    return 1;
  }
  const auto check = the_lab.lab({"check"}, std::chrono::seconds(30));
  if (check.exit_code != 0) {
    std::string reason = check.out + check.err;
    while (!reason.empty() && reason.back() == '\n') {
      reason.pop_back();
    }
    return lab_unavailable(reason.empty() ? "scripts/lab check failed" : reason);
  }

  install_teardown_on_signals(the_lab.script().string());
  // A lab left over from an interrupted run (or a demo) would hold the namespaces' names.
  down(the_lab);
  const auto up = the_lab.lab({"up"}, std::chrono::seconds(120));
  std::printf("%s%s", up.out.c_str(), up.err.c_str());
  std::fflush(stdout);
  if (up.exit_code != 0) {
    std::printf("FAILED: scripts/lab up exited %d%s\n", up.exit_code,
                up.timed_out ? " (timed out)" : "");
    down(the_lab);
    return 1;
  }

  int failed = 1;
  try {
    failed = session.run();
  } catch (const std::exception& error) {
    std::printf("FAILED: %s\n", error.what());
  }
  std::printf("\nlab scenarios (seconds):\n%s\n", lab::timing_table().c_str());
  down(the_lab);
  // Catch2 exits with the number of failed assertions; 77 of them must not read as "skipped".
  return failed == lab::kSkipExitCode ? 1 : failed;
}
