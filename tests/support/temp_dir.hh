#pragma once

#include <filesystem>
#include <string_view>

namespace vantage::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when the object goes
// away, unless VANTAGE_KEEP_LAB=1 asks to keep it for a post-mortem (its path is then printed).
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "vantage-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
  // Creates (if needed) and returns a subdirectory.
  std::filesystem::path subdir(std::string_view name) const;

 private:
  std::filesystem::path path_;
};

}  // namespace vantage::testing
