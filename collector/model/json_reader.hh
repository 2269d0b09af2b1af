#pragma once

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api_model.hh"
#include "result_json.hh"

// How the API model's documents are read and written field by field; shared by the model's files,
// not part of its interface.
namespace vantage::model_detail {

using nlohmann::json;

inline json optional_time(const std::optional<ApiTime>& time) {
  return time ? json(format_time(*time)) : json(nullptr);
}

inline json text_or_null(const std::string& text) {
  return text.empty() ? json(nullptr) : json(text);
}

// One JSON object of a document being read, and where it is in the document ("vantages[2]"), so
// that every error names the field.
class Reader {
 public:
  Reader(const json& document, std::string path) : document_(document), path_(std::move(path)) {
    if (!document_.is_object()) {
      fail("", "not an object");
    }
  }

  bool has(const char* name) const {
    const auto found = document_.find(name);
    return found != document_.end() && !found->is_null();
  }

  template <typename T>
  T get(const char* name) const {
    const auto found = document_.find(name);
    if (found == document_.end()) {
      fail(name, "missing");
    }
    try {
      return found->get<T>();
    } catch (const json::exception&) {
      fail(name, "of the wrong type");
    }
  }
  template <typename T>
  T get_or(const char* name, T fallback) const {
    return has(name) ? get<T>(name) : std::move(fallback);
  }
  template <typename T>
  std::optional<T> optional(const char* name) const {
    return has(name) ? std::optional<T>(get<T>(name)) : std::nullopt;
  }

  ApiTime time(const char* name) const {
    const auto time = parse_time(get<std::string>(name));
    if (!time) {
      fail(name, "not an RFC 3339 time");
    }
    return *time;
  }
  std::optional<ApiTime> optional_time(const char* name) const {
    return has(name) ? std::optional<ApiTime>(time(name)) : std::nullopt;
  }
  Verdict verdict(const char* name) const {
    const auto verdict = verdict_from_string(get<std::string>(name));
    if (!verdict) {
      fail(name, "not a verdict");
    }
    return *verdict;
  }
  Scope scope(const char* name) const {
    const auto scope = scope_from_string(get_or<std::string>(name, ""));
    if (!scope) {
      fail(name, "not a scope (global, partial or empty)");
    }
    return *scope;
  }

  // A target's warn_before; the defaults when absent.
  ExpiryThresholds expiry_thresholds(const char* name) const {
    ExpiryThresholds thresholds;
    if (has(name)) {
      if (const auto problem = read_expiry_thresholds(document_.at(name), thresholds);
          !problem.empty()) {
        fail(name, problem);
      }
    }
    return thresholds;
  }

  Reader object(const char* name) const {
    const auto found = document_.find(name);
    if (found == document_.end()) {
      fail(name, "missing");
    }
    return Reader(*found, field_path(name));
  }
  // The objects of an array field; an absent or null one reads as empty.
  std::vector<Reader> objects(const char* name) const {
    std::vector<Reader> items;
    if (!has(name)) {
      return items;
    }
    const json& array = document_.at(name);
    if (!array.is_array()) {
      fail(name, "not an array");
    }
    for (size_t i = 0; i < array.size(); ++i) {
      items.emplace_back(array[i], fmt::format("{}[{}]", field_path(name), i));
    }
    return items;
  }

  [[noreturn]] void fail(std::string_view name, std::string_view what) const {
    throw std::invalid_argument(
        fmt::format("{}: {}", name.empty() ? path_ : field_path(name), what));
  }

 private:
  std::string field_path(std::string_view name) const {
    return path_.empty() ? std::string(name) : fmt::format("{}.{}", path_, name);
  }

  const json& document_;
  std::string path_;
};

inline std::vector<Reader> array_items(const json& document, const std::string& path) {
  if (!document.is_array()) {
    throw std::invalid_argument(fmt::format("{}: not an array", path));
  }
  std::vector<Reader> items;
  for (size_t i = 0; i < document.size(); ++i) {
    items.emplace_back(document[i], fmt::format("{}[{}]", path, i));
  }
  return items;
}

}  // namespace vantage::model_detail
