#include "serve_lock.hh"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <system_error>

#include "storage.hh"

namespace vantage {
namespace {

std::string errno_text(int error) {
  return std::generic_category().message(error);
}

// The pid the holder wrote, or "unknown" (it may not have written it yet).
std::string holder_pid(int fd) {
  std::array<char, 32> buffer{};
  const ssize_t n = pread(fd, buffer.data(), buffer.size() - 1, 0);
  int64_t pid = 0;
  const char* end = buffer.data() + (n > 0 ? n : 0);
  const auto [stop, error] = std::from_chars(buffer.data(), end, pid);
  if (n <= 0 || error != std::errc() || pid <= 0 || (stop != end && *stop != '\n')) {
    return "unknown";
  }
  return std::to_string(pid);
}

}  // namespace

ServeLock::ServeLock(const std::string& database) : path_(database + ".lock") {
  fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) {
    const int error = errno;
    throw StorageError(fmt::format("sqlite {}: cannot open the lock file {}: {}", database, path_,
                                   errno_text(error)));
  }
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string pid = error == EWOULDBLOCK ? holder_pid(fd_) : "";
    close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK) {
      throw StorageError(fmt::format(
          "{} is in use by another collector (pid {}): it holds {}; stop it first, or give this "
          "one a database of its own",
          database, pid, path_));
    }
    throw StorageError(
        fmt::format("sqlite {}: cannot lock {}: {}", database, path_, errno_text(error)));
  }
  // Only the holder writes, so the pid is never a mix of two.
  const std::string pid = fmt::format("{}\n", getpid());
  if (ftruncate(fd_, 0) != 0 ||
      pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int error = errno;
    close(fd_);
    fd_ = -1;
    throw StorageError(fmt::format("sqlite {}: cannot write the lock file {}: {}", database, path_,
                                   errno_text(error)));
  }
}

ServeLock::~ServeLock() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

}  // namespace vantage
