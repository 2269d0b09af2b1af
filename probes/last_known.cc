#include "last_known.hh"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <system_error>

#include "result_json.hh"

namespace vantage {
namespace {

std::filesystem::path file_for(const std::filesystem::path& state_dir, const std::string& domain) {
  // Domain names cannot contain '/', but a typo in a config could; keep the file in its folder.
  std::string safe = domain;
  for (char& c : safe) {
    if (c == '/' || c == '\0') {
      c = '_';
    }
  }
  return state_dir / "last-known" / (safe + ".json");
}

}  // namespace

std::optional<LastKnown> load_last_known(const std::filesystem::path& state_dir,
                                         const std::string& domain) {
  std::ifstream in(file_for(state_dir, domain));
  if (!in) {
    return std::nullopt;
  }
  try {
    return last_known_from_json(nlohmann::json::parse(in));
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged file is as good as none: the next good cycle rewrites it
  }
}

void save_last_known(const std::filesystem::path& state_dir, const std::string& domain,
                     const LastKnown& last_known) {
  const auto path = file_for(state_dir, domain);
  std::filesystem::create_directories(path.parent_path());
  const auto temporary = path.string() + ".tmp";
  const std::string text = to_json(last_known).dump(2) + "\n";
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::system_error(errno, std::generic_category(), "open " + temporary);
  }
  const bool written =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  const int error = errno;
  close(fd);
  if (!written) {
    throw std::system_error(error, std::generic_category(), "write " + temporary);
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace vantage
