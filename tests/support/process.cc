#include "support/process.hh"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace vantage::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::runtime_error system_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

// Everything the child needs, prepared before fork: after fork only async-signal-safe calls are
// allowed, so no allocation happens in the child.
struct ExecPlan {
  std::vector<std::string> args;
  std::vector<char*> argv;
  explicit ExecPlan(std::vector<std::string> a) : args(std::move(a)) {
    for (auto& arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
  }
};

[[noreturn]] void exec_child(const ExecPlan& plan, int in_fd, int out_fd, int err_fd, pid_t parent,
                             int death_signal) {
  // Own group, so stop() can reach grandchildren; and no signal from a terminal's Ctrl-C races
  // with our orderly stop.
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, death_signal);
  // The parent may have died between fork and prctl; then nobody would ever signal us.
  if (getppid() != parent)
    _exit(126);
  // Catch2 blocks and handles signals; a daemon must start with the defaults, and a signal that
  // arrives before exec must not run the test framework's handler in this copy of the test.
  for (const int number : {SIGTERM, SIGINT, SIGABRT, SIGSEGV, SIGILL, SIGFPE, SIGPIPE}) {
    signal(number, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
      dup2(err_fd, STDERR_FILENO) < 0) {
    _exit(126);
  }
  close_range(3, ~0U, 0);
  execv(plan.argv[0], plan.argv.data());
  static constexpr char kMessage[] = "exec failed\n";
  [[maybe_unused]] auto ignored = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  _exit(127);
}

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  void reset() {
    if (fd >= 0)
      close(fd);
    fd = -1;
  }
};

// Kills what is left of group `pgid` and reaps those members that are our children (all of them
// once we are a subreaper), so that their ports are free when this returns. Bounded.
void kill_group(pid_t pgid) {
  if (pgid <= 0 || kill(-pgid, 0) != 0)
    return;
  kill(-pgid, SIGKILL);
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    pid_t reaped = waitpid(-pgid, nullptr, WNOHANG);
    if (reaped < 0)
      break;  // ECHILD: none of ours left
    if (reaped == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

void become_subreaper() {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
}

std::optional<std::filesystem::path> find_program(std::string_view name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream stream(path);
    for (std::string dir; std::getline(stream, dir, ':');) {
      if (!dir.empty())
        dirs.push_back(dir);
    }
  }
  for (const char* dir : {"/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    dirs.emplace_back(dir);
  }
  for (const auto& dir : dirs) {
    std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return std::nullopt;
}

ChildProcess::ChildProcess(std::string name, std::vector<std::string> argv,
                           std::filesystem::path log)
    : name_(std::move(name)), log_(std::move(log)) {
  if (argv.empty())
    throw std::runtime_error("ChildProcess " + name_ + ": empty argv");
  ExecPlan plan(std::move(argv));
  Fd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd log_fd(open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (null_fd.fd < 0 || log_fd.fd < 0)
    throw system_error("open for " + name_);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    throw system_error("fork for " + name_);
  // SIGTERM rather than SIGKILL: nsd and nginx then take their own children down with them.
  if (pid == 0)
    exec_child(plan, null_fd.fd, log_fd.fd, log_fd.fd, parent, SIGTERM);
  pid_ = pid;
  // Also from the parent side, so a stop() right after the fork already finds the group.
  setpgid(pid_, pid_);
}

ChildProcess::~ChildProcess() {
  stop();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : name_(std::move(other.name_)),
      log_(std::move(other.log_)),
      pid_(std::exchange(other.pid_, -1)),
      exited_(other.exited_),
      status_(other.status_),
      end_(other.end_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    stop();
    name_ = std::move(other.name_);
    log_ = std::move(other.log_);
    pid_ = std::exchange(other.pid_, -1);
    exited_ = other.exited_;
    status_ = other.status_;
    end_ = other.end_;
  }
  return *this;
}

bool ChildProcess::running() {
  if (pid_ <= 0 || exited_)
    return false;
  int status = 0;
  pid_t reaped = waitpid(pid_, &status, WNOHANG);
  if (reaped == pid_) {
    exited_ = true;
    status_ = status;
    return false;
  }
  if (reaped < 0 && errno == ECHILD) {
    exited_ = true;
    status_.reset();
    return false;
  }
  return true;
}

void ChildProcess::expect_running() {
  if (running())
    return;
  const std::string status = status_ ? std::to_string(decode_status(*status_)) : "unknown";
  throw std::runtime_error(name_ + " exited with status " + status + "; its log " + log_.string() +
                           " ends:\n" + log_tail());
}

ProcessExit ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0)
    return end_;
  bool killed = false;
  if (running()) {
    kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + grace;
    while (running() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (running()) {
      killed = true;
      kill(-pid_, SIGKILL);
      int status = 0;
      status_.reset();
      if (waitpid(pid_, &status, 0) == pid_)
        status_ = status;
      exited_ = true;
    }
  }
  kill_group(pid_);
  pid_ = -1;
  end_ = ProcessExit{.by_itself = !killed, .code = status_ ? decode_status(*status_) : -1};
  return end_;
}

std::string ChildProcess::log_tail(size_t max_bytes) const {
  std::string text = read_text(log_);
  if (text.size() > max_bytes)
    text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty())
    throw std::runtime_error("run_command: empty argv");
  ExecPlan plan(argv);
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) < 0)
    throw system_error("pipe");
  Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) < 0)
    throw system_error("pipe");
  Fd err_read(err_pipe[0]), err_write(err_pipe[1]);
  Fd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_fd.fd < 0)
    throw system_error("open /dev/null");

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    throw system_error("fork for " + argv[0]);
  if (pid == 0)
    exec_child(plan, null_fd.fd, out_write.fd, err_write.fd, parent, SIGKILL);
  setpgid(pid, pid);
  out_write.reset();
  err_write.reset();

  CommandResult result;
  const auto deadline = Clock::now() + timeout;
  std::string* sinks[2] = {&result.out, &result.err};
  int fds[2] = {out_read.fd, err_read.fd};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd pfds[2];
    nfds_t count = 0;
    int index_of[2];
    for (int i = 0; i < 2; ++i) {
      if (fds[i] >= 0) {
        pfds[count] = {fds[i], POLLIN, 0};
        index_of[count++] = i;
      }
    }
    int ready = poll(pfds, count, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR)
      break;
    for (nfds_t k = 0; k < count && ready > 0; ++k) {
      if (pfds[k].revents == 0)
        continue;
      char buffer[8192];
      ssize_t got = read(pfds[k].fd, buffer, sizeof(buffer));
      if (got > 0) {
        sinks[index_of[k]]->append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds[index_of[k]] = -1;  // closed by the Fd owners below
        --open_fds;
      }
    }
  }

  int status = 0;
  if (result.timed_out) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
  } else {
    // The pipes closed, so the child is exiting; still bound the wait in case it closed them early.
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (Clock::now() >= deadline) {
        result.timed_out = true;
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  kill_group(pid);
  result.exit_code = decode_status(status);
  return result;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out)
    throw std::runtime_error("cannot write " + path.string());
}

}  // namespace vantage::testing
