#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "cycle.hh"

namespace vantage {

// Last known good addresses and nameservers, one small JSON file per domain under
// `<state_dir>/last-known/`. Written atomically (temporary file, fsync, rename) so that a crash
// leaves either the old or the new file, never half of one.
std::optional<LastKnown> load_last_known(const std::filesystem::path& state_dir,
                                         const std::string& domain);
void save_last_known(const std::filesystem::path& state_dir, const std::string& domain,
                     const LastKnown& last_known);

}  // namespace vantage
