#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace vantage {

// Config files, tokens, certificates, keys and CA bundles are a few KB (the whole Debian CA
// bundle is about 200 KB); a bigger one is a mistake, and reading it must not eat the memory.
inline constexpr uint64_t kMaxConfigFileBytes = uint64_t{1} << 20;
// The ASN database is mapped rather than read (GeoLite2-ASN is about 10 MB, City 70 MB).
inline constexpr uint64_t kMaxAsnDatabaseBytes = uint64_t{1} << 30;

// Why a file cannot be used, worded to follow its name: "No such file or directory", "is a FIFO
// (named pipe), not a regular file", "is 2097152 bytes, more than the 1048576-byte limit".
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The whole of a regular file of at most `max_bytes`. A FIFO is refused without waiting for a
// writer, a device (/dev/zero) without reading it, and never more than `max_bytes` + 1 bytes are
// read, so a file that grows meanwhile or reports no size (procfs) is refused too. /dev/null
// counts as an empty file. Throws FileError.
std::string read_config_file(const std::string& path, uint64_t max_bytes);

// The same checks without reading, for a file another library opens itself (curl a CA bundle,
// libmaxminddb the ASN database). Throws FileError.
void check_config_file(const std::string& path, uint64_t max_bytes);

}  // namespace vantage
