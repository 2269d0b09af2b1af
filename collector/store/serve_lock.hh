#pragma once

#include <string>

namespace vantage {

// An exclusive flock(2) on "<database>.lock", held by `vantage-collector serve` for as long as it
// serves a SQLite database: two collectors on one file would each correlate part of the results
// and both page. The file holds the holder's pid, for the message of the one refused. The
// database file itself is never locked: SQLite keeps its own POSIX locks there, and closing any
// other descriptor of that file would drop them. check-config and `token create` take no lock:
// SQLite's own locking already makes their short transactions safe beside a running serve.
class ServeLock {
 public:
  // Throws StorageError ("collector.db is in use by another collector (pid 123)") when another
  // process holds the lock, or naming the lock file and errno when it cannot be opened.
  explicit ServeLock(const std::string& database);
  // Releases the lock by closing the descriptor. The file stays: removing it would let a third
  // collector lock a new file while a second still waits on the old one.
  ~ServeLock();
  ServeLock(const ServeLock&) = delete;
  ServeLock& operator=(const ServeLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace vantage
