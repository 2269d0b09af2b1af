#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vantage::testing {

// Where a program lives: PATH first, then the sbin directories, which the PATH of a non-login
// root shell (or of ctest) can lack although nsd, unbound, nginx and ip live there.
std::optional<std::filesystem::path> find_program(std::string_view name);

// Makes orphaned descendants (a daemon's workers whose parent died first) our children, so that
// ChildProcess::stop() can reap them and know their sockets are closed before a restart.
void become_subreaper();

// How a child ended, as ChildProcess::stop() found it.
struct ProcessExit {
  bool by_itself = false;  // it had exited, or did within the grace period; false: SIGKILLed
  int code = -1;           // the exit status, or 128 + signal number; -1 when not known
};

// A long-running child owned by a test (a daemon). It runs in a process group of its own, so that
// stopping it also stops whatever it forked (nsd's server and xfrd processes), and with
// PR_SET_PDEATHSIG, so that a test that crashes leaves nothing behind. It is always stopped when
// the object goes away.
class ChildProcess {
 public:
  // Starts argv[0] (a path) with stdin from /dev/null and stdout and stderr appended to `log`.
  // Throws std::runtime_error if it cannot fork.
  ChildProcess(std::string name, std::vector<std::string> argv, std::filesystem::path log);
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& log() const { return log_; }

  // False once the process has exited; reaps it.
  bool running();
  // Throws std::runtime_error quoting the end of the log if the process has exited: a daemon
  // that died at startup should fail the test with its own words, not with a timeout.
  void expect_running();
  // SIGTERM, a bounded wait, then SIGKILL for the whole group; reaps. Safe to call twice: the
  // second call returns what the first found. A test of a clean shutdown checks the result.
  ProcessExit stop(std::chrono::milliseconds grace = std::chrono::seconds(3));
  // The last `max_bytes` of the log, for diagnostics.
  std::string log_tail(size_t max_bytes = 3000) const;

 private:
  std::string name_;
  std::filesystem::path log_;
  pid_t pid_ = -1;  // also the process group id
  bool exited_ = false;
  std::optional<int> status_;  // the wait status once reaped, unless another waiter took it
  ProcessExit end_;
};

struct CommandResult {
  int exit_code = -1;  // the exit status, or 128 + signal number as a shell reports it
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs a command to completion, capturing stdout and stderr; kills it (and its group) if it
// outlives `timeout`, so no test can hang on a child. Throws std::runtime_error if it cannot fork.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Text of a whole file, or "" if it cannot be read.
std::string read_text(const std::filesystem::path& path);
// Writes (replaces) a file; throws std::runtime_error on failure.
void write_text(const std::filesystem::path& path, std::string_view text);

}  // namespace vantage::testing
