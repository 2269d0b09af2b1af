#include "postgres_server.hh"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace vantage::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kPort = 5432;  // only names the socket file, in our own dir
constexpr const char* kSuperuser = "vantage";

// $VANTAGE_PG_BIN, else Debian's newest /usr/lib/postgresql/N/bin with initdb and postgres.
std::filesystem::path find_bin() {
  auto usable = [](const std::filesystem::path& dir) {
    return access((dir / "initdb").c_str(), X_OK) == 0 &&
           access((dir / "postgres").c_str(), X_OK) == 0;
  };
  if (const char* env = std::getenv("VANTAGE_PG_BIN"); env != nullptr && *env != '\0') {
    return usable(env) ? std::filesystem::path(env) : std::filesystem::path();
  }
  if (usable("/usr/lib/postgresql/15/bin")) {
    return "/usr/lib/postgresql/15/bin";
  }
  std::filesystem::path best;
  int best_version = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", error)) {
    const int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version && usable(entry.path() / "bin")) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  return best;
}

// Forks a child that drops to uid/gid (if we are root), appends its output to `log`, and execs
// argv. With `tie_to_parent`, PR_SET_PDEATHSIG is set after the uid change, which would clear it.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log, uid_t uid,
            gid_t gid, bool tie_to_parent) {
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid != 0) {
    return pid;
  }
  // The child: only async-signal-safe calls from here.
  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
    _exit(126);
  }
  setpgid(0, 0);  // ctest's or a terminal's signals go to the test, which stops us itself
  if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) {
    _exit(126);
  }
  if (tie_to_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)) {
    _exit(126);
  }
  execv(args[0], args.data());
  _exit(127);
}

// Waits up to `timeout` for `pid`; its exit status, or -1 if it is still running.
int wait_for(pid_t pid, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return -1;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

}  // namespace

std::string PostgresServer::unavailable_reason() {
  if (find_bin().empty()) {
    return "no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin or "
           "$VANTAGE_PG_BIN: apt-get install postgresql";
  }
  if (geteuid() == 0 && getpwnam("postgres") == nullptr) {
    return "running as root, and there is no 'postgres' user to run the server as (PostgreSQL "
           "refuses to run as root)";
  }
  return "";
}

PostgresServer::PostgresServer() : bin_(find_bin()) {
  if (geteuid() == 0) {
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      throw std::runtime_error("no postgres user");
    }
    uid_ = user->pw_uid;
    gid_ = user->pw_gid;
    if (chown(dir_.path().c_str(), uid_, gid_) != 0) {
      throw std::runtime_error(
          fmt::format("chown {}: {}", dir_.path().string(), std::strerror(errno)));
    }
  }
  // The socket dir must be reachable by the server's user; mkdtemp made it 0700 and we own it.
  const std::filesystem::path log = dir_.path() / "postgres.log";
  // C locale and UTF-8: the encoding the collector writes, and no locale to be missing.
  const pid_t initdb =
      spawn({(bin_ / "initdb").string(), "-D", (dir_.path() / "data").string(), "-U", kSuperuser,
             "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"},
            log, uid_, gid_, false);
  const int status = wait_for(initdb, milliseconds(60000));
  if (status != 0) {
    if (status < 0) {
      kill(initdb, SIGKILL);
      waitpid(initdb, nullptr, 0);
    }
    throw std::runtime_error(fmt::format("initdb failed (status {}):\n{}", status, log_tail()));
  }
  start();
}

PostgresServer::~PostgresServer() {
  stop(true);
}

std::string PostgresServer::conninfo(const std::string& database) const {
  return fmt::format("host={} port={} user={} dbname={}", dir_.path().string(), kPort, kSuperuser,
                     database);
}

void PostgresServer::start() {
  const std::filesystem::path log = dir_.path() / "postgres.log";
  // Small, since the machine is shared; fsync stays on (the default), as in production.
  pid_ = spawn({(bin_ / "postgres").string(), "-D", (dir_.path() / "data").string(), "-k",
                dir_.path().string(), "-p", std::to_string(kPort), "-c", "listen_addresses=", "-c",
                "max_connections=30", "-c", "shared_buffers=16MB"},
               log, uid_, gid_, true);
  const std::string ping = conninfo("postgres");
  // Bounded: 300 × 100 ms.
  for (int attempt = 0; attempt < 300; ++attempt) {
    if (PQping(ping.c_str()) == PQPING_OK) {
      return;
    }
    if (const int status = wait_for(pid_, milliseconds(0)); status >= 0) {
      pid_ = -1;
      throw std::runtime_error(
          fmt::format("postgres exited at startup (status {}):\n{}", status, log_tail()));
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  stop(true);
  throw std::runtime_error(
      fmt::format("postgres did not accept connections within 30 s:\n{}", log_tail()));
}

void PostgresServer::stop(bool crash) {
  if (pid_ <= 0) {
    return;
  }
  // SIGQUIT is pg_ctl stop -m immediate, SIGINT -m fast.
  kill(pid_, crash ? SIGQUIT : SIGINT);
  if (wait_for(pid_, milliseconds(15000)) < 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

void PostgresServer::restart(bool crash) {
  stop(crash);
  start();
}

std::string PostgresServer::log_tail() const {
  std::ifstream in(dir_.path() / "postgres.log");
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > 3000 ? all.substr(all.size() - 3000) : all;
}

}  // namespace vantage::testing
