#include "expiry_merge.hh"

#include <algorithm>
#include <tuple>
#include <utility>

namespace vantage {

void ExpiryMerge::add(const std::string& agent, const std::vector<Expiry>& expiring) {
  for (const Expiry& expiry : expiring) {
    auto same = std::find_if(warnings_.begin(), warnings_.end(), [&](const ExpiryWarning& w) {
      return w.kind == expiry.kind && w.subject == expiry.subject && w.expires == expiry.expires;
    });
    if (same == warnings_.end()) {
      warnings_.push_back({expiry.kind, expiry.subject, expiry.expires, {}, {}, expiry.text});
      same = std::prev(warnings_.end());
    }
    same->at.insert(same->at.end(), expiry.at.begin(), expiry.at.end());
    // One call per vantage, and a vantage's warnings are distinct: no vantage comes twice.
    same->vantages.push_back(agent);
  }
}

std::vector<ExpiryWarning> ExpiryMerge::take() {
  std::sort(warnings_.begin(), warnings_.end(), [](const ExpiryWarning& a, const ExpiryWarning& b) {
    return std::tie(a.expires, a.kind, a.subject) < std::tie(b.expires, b.kind, b.subject);
  });
  for (auto& warning : warnings_) {
    std::sort(warning.at.begin(), warning.at.end());
    warning.at.erase(std::unique(warning.at.begin(), warning.at.end()), warning.at.end());
  }
  return std::exchange(warnings_, {});
}

}  // namespace vantage
