#include "config_node.hh"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "config_file.hh"
#include "duration.hh"

namespace vantage {
namespace {

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

int line_of(const YAML::Node& node, int fallback) {
  const int line = node.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

// yaml-cpp keeps a key given twice and answers lookups with the first one, so the value the
// operator edited last could be ignored without a word. Walks every mapping at every depth (the
// parser bounds the depth); an alias is the node it names, so each node is visited once, or an
// anchor used inside itself would loop and a chain of aliases would take exponential time.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(const std::string& file) : file_(file) {}

  void check(const YAML::Node& node, const std::string& path) {
    if ((!node.IsSequence() && !node.IsMap()) || !visited_.insert(node.Mark().pos).second) {
      return;
    }
    if (node.IsSequence()) {
      for (size_t i = 0; i < node.size(); ++i) {
        check(node[i], fmt::format("{}[{}]", path, i));
      }
      return;
    }
    std::map<std::string, int> first_line;
    for (const auto& entry : node) {
      const std::string key_path = join(path, entry.first.Scalar());
      const int line = line_of(entry.first, 1);
      if (entry.first.IsScalar()) {
        const auto [earlier, inserted] = first_line.emplace(entry.first.Scalar(), line);
        if (!inserted) {
          throw ConfigError(fmt::format("{}:{}: {}: duplicate key (first given on line {})", file_,
                                        line, key_path, earlier->second));
        }
      }
      check(entry.second, key_path);
    }
  }

 private:
  const std::string& file_;
  std::set<int> visited_;
};

}  // namespace

ConfigNode::ConfigNode(std::shared_ptr<const std::string> file, const YAML::Node& node,
                       std::string path, int line)
    : file_(std::move(file)), node_(node), path_(std::move(path)), line_(line) {}

ConfigNode ConfigNode::load(const std::string& file) {
  std::string text;
  try {
    text = read_config_file(file, kMaxConfigFileBytes);
  } catch (const FileError& error) {
    throw ConfigError(fmt::format("{}: cannot read the file: {}", file, error.what()));
  }
  return parse(text, file);
}

ConfigNode ConfigNode::parse(const std::string& text, const std::string& file_label) {
  auto file = std::make_shared<const std::string>(file_label);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& error) {
    throw ConfigError(
        fmt::format("{}:{}: YAML syntax error: {}", file_label, error.mark.line + 1, error.msg));
  }
  if (!root.IsMap()) {
    throw ConfigError(fmt::format("{}:1: the file must be a YAML mapping of sections", file_label));
  }
  DuplicateKeyCheck(file_label).check(root, "");
  return ConfigNode(file, root, "", 1);
}

void ConfigNode::fail(const std::string& problem) const {
  if (path_.empty()) {
    throw ConfigError(fmt::format("{}:{}: {}", *file_, line_, problem));
  }
  throw ConfigError(fmt::format("{}:{}: {}: {}", *file_, line_, path_, problem));
}

bool ConfigNode::has(std::string_view key) const {
  return node_.IsMap() && node_[std::string(key)].IsDefined() && !node_[std::string(key)].IsNull();
}

std::optional<ConfigNode> ConfigNode::optional_child(std::string_view key) const {
  if (!node_.IsMap()) {
    fail("must be a mapping of keys");
  }
  if (!has(key)) {
    return std::nullopt;
  }
  const YAML::Node value = node_[std::string(key)];
  return ConfigNode(file_, value, join(path_, key), line_of(value, line_));
}

ConfigNode ConfigNode::child(std::string_view key) const {
  if (auto value = optional_child(key)) {
    return *value;
  }
  ConfigNode(file_, node_, join(path_, key), line_).fail("is required");
}

bool ConfigNode::is_list() const {
  return node_.IsSequence();
}

std::vector<ConfigNode> ConfigNode::items() const {
  if (!node_.IsSequence()) {
    fail("must be a list");
  }
  std::vector<ConfigNode> items;
  for (size_t i = 0; i < node_.size(); ++i) {
    items.push_back(
        ConfigNode(file_, node_[i], fmt::format("{}[{}]", path_, i), line_of(node_[i], line_)));
  }
  return items;
}

std::string ConfigNode::as_string() const {
  if (!node_.IsScalar()) {
    fail("must be a single value");
  }
  return node_.Scalar();
}

int64_t ConfigNode::as_int(int64_t min, int64_t max) const {
  const std::string text = as_string();
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    fail(fmt::format("\"{}\" is not a whole number", text));
  }
  if (value < min || value > max) {
    fail(fmt::format("{} is out of range ({} to {})", value, min, max));
  }
  return value;
}

bool ConfigNode::as_bool() const {
  const std::string text = as_string();
  if (text == "true" || text == "yes") {
    return true;
  }
  if (text == "false" || text == "no") {
    return false;
  }
  fail(fmt::format("\"{}\" is not true or false", text));
}

std::chrono::milliseconds ConfigNode::as_duration() const {
  const std::string text = as_string();
  const auto duration = parse_duration(text);
  if (!duration || duration->count() == 0) {
    fail(fmt::format("\"{}\" is not a duration like 500ms, 30s or 2m", text));
  }
  return *duration;
}

std::string ConfigNode::as_readable_file(uint64_t max_bytes) const {
  std::string path = as_string();
  try {
    check_config_file(path, max_bytes);
  } catch (const FileError& error) {
    fail(fmt::format("cannot read \"{}\": {}", path, error.what()));
  }
  return path;
}

void ConfigNode::allow_only(std::initializer_list<std::string_view> keys) const {
  if (!node_.IsMap()) {
    fail("must be a mapping of keys");
  }
  for (const auto& entry : node_) {
    const std::string key = entry.first.Scalar();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      std::string known;
      for (const auto& allowed : keys) {
        known += known.empty() ? std::string(allowed) : ", " + std::string(allowed);
      }
      ConfigNode(file_, entry.first, join(path_, key), line_of(entry.first, line_))
          .fail(fmt::format("unknown key (expected one of: {})", known));
    }
  }
}

}  // namespace vantage
