#include "domain_name.hh"

#include <algorithm>

namespace vantage {

namespace {

constexpr size_t kMaxName = 253;
constexpr size_t kMaxLabel = 63;

bool is_label_edge(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_label(std::string_view label) {
  return !label.empty() && label.size() <= kMaxLabel && is_label_edge(label.front()) &&
         is_label_edge(label.back()) && std::all_of(label.begin(), label.end(), [](char c) {
           return is_label_edge(c) || c == '-';
         });
}

}  // namespace

// A scan rather than std::regex: the collector checks the domain of every result it ingests,
// and std::regex_match was 5 % of its CPU.
bool is_domain_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxName) {
    return false;
  }
  if (name.back() == '.') {
    name.remove_suffix(1);
  }
  while (true) {
    const size_t dot = name.find('.');
    if (!is_label(name.substr(0, dot))) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    name.remove_prefix(dot + 1);
  }
}

std::optional<std::string> canonical_domain_name(std::string_view name) {
  if (!is_domain_name(name)) {
    return std::nullopt;
  }
  std::string out(name);
  if (out.back() == '.') {
    out.pop_back();
  }
  // The name is ASCII (is_domain_name), so the C locale's tolower is the DNS's case folding.
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

}  // namespace vantage
