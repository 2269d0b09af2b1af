#include "config_file.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <system_error>

namespace vantage {
namespace {

[[noreturn]] void fail_with_errno(int error) {
  throw FileError(std::generic_category().message(error));
}

std::string describe(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return "is a directory, not a regular file";
    case S_IFIFO:
      return "is a FIFO (named pipe), not a regular file";
    case S_IFCHR:
      return "is a character device, not a regular file";
    case S_IFBLK:
      return "is a block device, not a regular file";
    case S_IFSOCK:
      return "is a socket, not a regular file";
    default:
      return "is not a regular file";
  }
}

// The null device is the conventional empty file (examples and tests name it for a token that
// is never sent); it can neither block nor grow.
bool is_null_device(const struct stat& status) {
  return S_ISCHR(status.st_mode) && major(status.st_rdev) == 1 && minor(status.st_rdev) == 3;
}

// Closes the descriptor also when CheckedFile's constructor throws after opening it.
struct Descriptor {
  explicit Descriptor(int fd) : value(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (value >= 0) {
      close(value);
    }
  }
  int value;
};

// A file opened for reading and checked before anything reads it.
class CheckedFile {
 public:
  CheckedFile(const std::string& path, uint64_t max_bytes)
      // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, perhaps forever.
      : fd_(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) {
    if (fd_.value < 0) {
      fail_with_errno(errno);
    }
    struct stat status {};
    if (fstat(fd_.value, &status) != 0) {
      fail_with_errno(errno);
    }
    null_device_ = is_null_device(status);
    if (!S_ISREG(status.st_mode) && !null_device_) {
      throw FileError(describe(status.st_mode));
    }
    if (static_cast<uint64_t>(status.st_size) > max_bytes) {
      throw FileError(
          fmt::format("is {} bytes, more than the {}-byte limit", status.st_size, max_bytes));
    }
  }
  CheckedFile(const CheckedFile&) = delete;
  CheckedFile& operator=(const CheckedFile&) = delete;

  int fd() const { return fd_.value; }
  bool null_device() const { return null_device_; }

 private:
  Descriptor fd_;
  bool null_device_ = false;
};

}  // namespace

std::string read_config_file(const std::string& path, uint64_t max_bytes) {
  const CheckedFile file(path, max_bytes);
  std::string text;
  if (file.null_device()) {
    return text;
  }
  char buffer[16 * 1024];
  while (true) {
    const ssize_t got = read(file.fd(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      fail_with_errno(errno);
    }
    if (got == 0) {
      return text;
    }
    text.append(buffer, static_cast<size_t>(got));
    if (text.size() > max_bytes) {
      throw FileError(fmt::format("is more than the {}-byte limit", max_bytes));
    }
  }
}

void check_config_file(const std::string& path, uint64_t max_bytes) {
  const CheckedFile file(path, max_bytes);
}

}  // namespace vantage
