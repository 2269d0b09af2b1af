#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace vantage::fuzz {

// The fuzz input as a regular file in memory, for the loaders that take a path: they read it
// through the same checks and code as a real config file, and nothing touches the disk.
class MemoryFile {
 public:
  MemoryFile() : fd_(memfd_create("vantage-fuzz-config", MFD_CLOEXEC)) {
    if (fd_ < 0) {
      throw std::runtime_error("memfd_create failed");
    }
  }
  ~MemoryFile() { close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Replaces the contents; returns a path that opens them.
  std::string hold(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0 ||
        (size > 0 && pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size))) {
      throw std::runtime_error("writing the memfd failed");
    }
    return "/proc/self/fd/" + std::to_string(fd_);
  }

 private:
  int fd_;
};

}  // namespace vantage::fuzz
