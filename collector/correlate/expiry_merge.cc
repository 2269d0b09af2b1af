#include "expiry_merge.hh"

#include <algorithm>
#include <tuple>
#include <utility>

namespace vantage {
namespace {

void add_unique(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) {
    list.push_back(item);
  }
}

}  // namespace

void ExpiryMerge::add(const std::string& agent, const std::vector<Expiry>& expiring) {
  for (const Expiry& expiry : expiring) {
    auto same = std::find_if(warnings_.begin(), warnings_.end(), [&](const ExpiryWarning& w) {
      return w.kind == expiry.kind && w.subject == expiry.subject && w.expires == expiry.expires;
    });
    if (same == warnings_.end()) {
      warnings_.push_back({expiry.kind, expiry.subject, expiry.expires, {}, {}, expiry.text});
      same = std::prev(warnings_.end());
    }
    for (const auto& place : expiry.at) {
      add_unique(same->at, place);
    }
    add_unique(same->vantages, agent);
  }
}

std::vector<ExpiryWarning> ExpiryMerge::take() {
  std::sort(warnings_.begin(), warnings_.end(), [](const ExpiryWarning& a, const ExpiryWarning& b) {
    return std::tie(a.expires, a.kind, a.subject) < std::tie(b.expires, b.kind, b.subject);
  });
  for (auto& warning : warnings_) {
    std::sort(warning.at.begin(), warning.at.end());
  }
  return std::exchange(warnings_, {});
}

}  // namespace vantage
