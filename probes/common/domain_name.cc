#include "domain_name.hh"

#include <algorithm>
#include <regex>

namespace vantage {

bool is_domain_name(std::string_view name) {
  static const std::regex kName(
      R"(^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$)");
  return !name.empty() && name.size() <= 253 && std::regex_match(name.begin(), name.end(), kName);
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
