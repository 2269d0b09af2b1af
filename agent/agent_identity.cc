#include "agent_identity.hh"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>

#include "durable_file.hh"
#include "printable.hh"

namespace vantage {
namespace {

constexpr const char* kEpochFile = "epoch";
// Written beside the epoch by every agent that knows epochs. Without it, a spool with no epoch
// file is from an agent older than epochs (epoch 0); with it, the epoch file was removed, and the
// operator asked for a new epoch.
constexpr const char* kEpochsMarker = "epochs";
constexpr size_t kMaxEpochFileBytes = 64;

uint64_t parse_epoch(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw std::runtime_error(fmt::format("{}: cannot read the agent's epoch", file.string()));
  }
  std::string text(kMaxEpochFileBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  uint64_t epoch = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), epoch);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      epoch > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    throw std::runtime_error(fmt::format(
        "{}: holds \"{}\", not an epoch (a whole number); remove the file to start a new epoch",
        file.string(), printable(text.substr(0, 20))));
  }
  return epoch;
}

}  // namespace

AgentIdentity load_agent_identity(const std::filesystem::path& state_dir) {
  const auto file = state_dir / kEpochFile;
  const auto marker = state_dir / kEpochsMarker;
  const bool has_spool = std::filesystem::exists(state_dir / "spool");
  // An epoch names the numbers of its spool: without the spool (removed on its own, or never
  // created after a crash right after the epoch was written) numbering restarts, so must the epoch.
  if (has_spool && std::filesystem::exists(file)) {
    // Marked before the file is read, so that the advice of a parse error holds for a directory
    // an agent from before the marker made.
    if (!std::filesystem::exists(marker)) {
      write_durably(marker, "1\n");
    }
    return {parse_epoch(file), false};
  }
  std::filesystem::create_directories(state_dir);
  uint64_t epoch = 0;
  if (!has_spool || std::filesystem::exists(marker)) {
    epoch = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
  }
  write_durably(file, fmt::format("{}\n", epoch));
  write_durably(marker, "1\n");
  return {epoch, true};
}

}  // namespace vantage
