#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vantage {

// A configuration mistake, worded "FILE:LINE: KEY: problem" so an operator can jump to it.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One node of a YAML config file that knows where it came from, so every error it raises names
// the file, the line and the dotted key ("probe.interval", "targets[2].domain").
class ConfigNode {
 public:
  // Loads and parses `file` (a regular file of at most kMaxConfigFileBytes); a syntax error or a
  // key given twice in one mapping becomes a ConfigError with the line.
  static ConfigNode load(const std::string& file);
  static ConfigNode parse(const std::string& text, const std::string& file_label);

  bool has(std::string_view key) const;
  ConfigNode child(std::string_view key) const;  // missing -> error naming the key
  std::optional<ConfigNode> optional_child(std::string_view key) const;
  std::vector<ConfigNode> items() const;  // the elements of a sequence
  bool is_list() const;                   // for a key that takes one value or a list of them

  std::string as_string() const;
  int64_t as_int(int64_t min, int64_t max) const;
  bool as_bool() const;
  std::chrono::milliseconds as_duration() const;
  // The value as the path of a regular file of at most `max_bytes` that can be opened: not a
  // FIFO that would block whoever reads it, not a device that never ends.
  std::string as_readable_file(uint64_t max_bytes) const;

  // Rejects keys this mapping does not define: a misspelt key must not silently mean "default".
  void allow_only(std::initializer_list<std::string_view> keys) const;

  [[noreturn]] void fail(const std::string& problem) const;
  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }

 private:
  ConfigNode(std::shared_ptr<const std::string> file, const YAML::Node& node, std::string path,
             int line);

  std::shared_ptr<const std::string> file_;
  YAML::Node node_;
  std::string path_;
  int line_;  // 1-based; for a missing key, the line of the mapping that should hold it
};

}  // namespace vantage
