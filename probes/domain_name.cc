#include "domain_name.hh"

#include <regex>

namespace vantage {

bool is_domain_name(std::string_view name) {
  static const std::regex kName(
      R"(^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$)");
  return !name.empty() && name.size() <= 253 && std::regex_match(name.begin(), name.end(), kName);
}

}  // namespace vantage
