#pragma once

#include <filesystem>
#include <string>

namespace vantage {

// Writes `text` to `path` so that a crash leaves the old content or the new, never a mix: a
// temporary name, fsync, rename, fsync of the directory. Throws std::system_error.
void write_durably(const std::filesystem::path& path, const std::string& text);

}  // namespace vantage
