#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "storage_suite.hh"

namespace vantage::testing {

// A real PostgreSQL server (Debian's postgresql package) owned by the test: initdb in a temp dir,
// `postgres` listening only on a Unix socket in that dir, run as the `postgres` system user when
// the test runs as root (the server refuses root) and as the test's own user otherwise. The server
// gets PR_SET_PDEATHSIG, so a test that crashes or is killed takes it along; the destructor stops
// it (immediate shutdown) and removes the dir.
class PostgresServer {
 public:
  // Why no server can run here (no binaries, no postgres user), or "" if one can.
  static std::string unavailable_reason();

  // initdb and start; throws std::runtime_error with the log's end if either fails.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A libpq conninfo for `database` on this server.
  std::string conninfo(const std::string& database) const;
  // Crash (SIGQUIT: immediate shutdown, no checkpoint, so the restart replays the WAL) or stop
  // cleanly (SIGINT: fast shutdown), then start again on the same socket.
  void restart(bool crash);
  void stop(bool crash);
  void start();

 private:
  std::string log_tail() const;

  ScratchDir dir_{"vantage-storage-pg"};
  std::filesystem::path bin_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;
};

}  // namespace vantage::testing
