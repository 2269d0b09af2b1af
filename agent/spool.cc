#include "spool.hh"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "durable_file.hh"

namespace vantage {
namespace {

constexpr const char* kAcknowledgedFile = "acknowledged";
constexpr const char* kSuffix = ".json";

std::optional<uint64_t> seq_of(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  if (name.size() <= std::string_view(kSuffix).size() || !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  const char* end = name.data() + name.size() - std::string_view(kSuffix).size();
  const auto [stop, error] = std::from_chars(name.data(), end, seq);
  if (error != std::errc() || stop != end || seq == 0) {
    return std::nullopt;
  }
  return seq;
}

}  // namespace

Spool::Spool(std::filesystem::path dir, uint64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {
  std::filesystem::create_directories(dir_ / "rejected");
  if (std::ifstream in(dir_ / kAcknowledgedFile); in) {
    in >> acknowledged_;
  }
  uint64_t highest = acknowledged_;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (!entry.is_regular_file()) {
      continue;
    }
    const auto& path = entry.path();
    if (path.extension() == ".tmp") {
      std::filesystem::remove(path);  // a write that never completed: it was never produced
      continue;
    }
    const auto seq = seq_of(path);
    if (!seq) {
      continue;
    }
    if (*seq <= acknowledged_) {
      std::filesystem::remove(path);  // acknowledged before a crash, not yet deleted
      continue;
    }
    sizes_[*seq] = entry.file_size();
    bytes_ += entry.file_size();
    highest = std::max(highest, *seq);
  }
  // Numbers of quarantined results are spent too: the collector may have logged them.
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "rejected")) {
    if (const auto seq = seq_of(entry.path())) {
      highest = std::max(highest, *seq);
    }
  }
  next_seq_ = highest + 1;
}

std::filesystem::path Spool::file_for(uint64_t seq) const {
  return dir_ / fmt::format("{:020}{}", seq, kSuffix);
}

uint64_t Spool::append(const std::string& document) {
  while (!sizes_.empty() && bytes_ + document.size() > max_bytes_) {
    drop_oldest();
  }
  const uint64_t seq = next_seq_++;
  write_durably(file_for(seq), document);
  sizes_[seq] = document.size();
  bytes_ += document.size();
  return seq;
}

void Spool::drop_oldest() {
  const auto [seq, size] = *sizes_.begin();
  std::filesystem::remove(file_for(seq));
  bytes_ -= size;
  sizes_.erase(sizes_.begin());
  ++dropped_;
  spdlog::warn("spool full ({} bytes max): dropped result seq {} unsent ({} dropped so far)",
               max_bytes_, seq, dropped_);
}

std::vector<Spool::Entry> Spool::oldest(size_t max_entries, size_t max_bytes) const {
  std::vector<Entry> entries;
  size_t total = 0;
  for (const auto& [seq, size] : sizes_) {
    if (entries.size() >= max_entries || (!entries.empty() && total + size > max_bytes)) {
      break;
    }
    std::ifstream in(file_for(seq), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    entries.push_back({seq, text.str()});
    total += size;
  }
  return entries;
}

void Spool::write_acknowledged(uint64_t seq) {
  write_durably(dir_ / kAcknowledgedFile, fmt::format("{}\n", seq));
  acknowledged_ = seq;
}

void Spool::acknowledge(uint64_t seq) {
  if (seq <= acknowledged_) {
    return;
  }
  // The number goes to disk before any file is deleted: a crash in between leaves files that
  // the next start recognises as acknowledged, never a gap that would be re-numbered.
  write_acknowledged(seq);
  while (!sizes_.empty() && sizes_.begin()->first <= seq) {
    std::filesystem::remove(file_for(sizes_.begin()->first));
    bytes_ -= sizes_.begin()->second;
    sizes_.erase(sizes_.begin());
  }
}

void Spool::quarantine(uint64_t seq) {
  const auto found = sizes_.find(seq);
  if (found == sizes_.end()) {
    return;
  }
  std::error_code error;
  std::filesystem::rename(file_for(seq), dir_ / "rejected" / file_for(seq).filename(), error);
  if (error) {
    spdlog::error("spool: cannot move {} to rejected/: {}", file_for(seq).string(),
                  error.message());
  }
  bytes_ -= found->second;
  sizes_.erase(found);
}

}  // namespace vantage
