#include "expiry.hh"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "result_json.hh"

namespace vantage {
namespace {

using Clock = std::chrono::system_clock;

// What one address or nameserver showed that expires first.
struct Seen {
  std::string subject;
  std::chrono::sys_seconds expires;
  // A signature with less than half its validity gone: its signer is at work, so it is not
  // warned of. Not part of the order: signatures by one key that end together began together.
  bool fresh = false;
  bool operator<(const Seen& other) const {
    return std::tie(expires, subject) < std::tie(other.expires, other.subject);
  }
};

// The certificate an HTTPS answer holds that expires first: the leaf, or one of its chain.
std::optional<Seen> certificate_of(const TlsDetails& tls) {
  const auto named = [](const std::string& subject) {
    return subject.empty() ? std::string("(no subject)") : subject;
  };
  std::optional<Seen> first;
  if (const auto leaf = parse_seconds(tls.not_after)) {
    first = Seen{named(tls.subject), *leaf, false};
  }
  if (const auto chain = parse_seconds(tls.earliest_not_after);
      chain && (!first || *chain < first->expires)) {
    first = Seen{named(tls.earliest_subject), *chain, false};
  }
  return first;
}

std::string signing_key(const Signature& signature) {
  return fmt::format("key {} (algorithm {}) of {}", signature.key_tag, signature.algorithm,
                     signature.signer);
}

// The first of each place's `Seen`, by place: an HTTPS target or a nameserver may answer several
// probes of a cycle (A and AAAA, a retry), and one place counts once.
using Firsts = std::map<std::string, Seen>;

// A fresh signature gives way to any other: an online signer's short-lived ones must not hide
// older ones left to expire at the same nameserver.
void note(Firsts& firsts, const std::string& place, const Seen& seen) {
  const auto [at, inserted] = firsts.emplace(place, seen);
  if (!inserted && std::tie(seen.fresh, seen) < std::tie(at->second.fresh, at->second)) {
    at->second = seen;
  }
}

// "expires 2026-12-02T12:00:00Z (in 3 days)"; `plural` for signatures, which expire.
std::string when(std::chrono::sys_seconds expires, Clock::time_point now, bool plural) {
  const std::string verb = expires < now ? "expired" : plural ? "expire" : "expires";
  return fmt::format("{} {} ({})", verb, format_seconds(expires), time_left(expires - now));
}

// "; the others serve one valid until 2027-02-27T00:00:00Z" when every other place serves a
// certificate that outlasts the threshold (the renewed nodes); nothing when some other one is
// itself within it, which has its own warning. `seen` is a key of `places_of`.
std::string what_the_others_serve(const std::map<Seen, std::vector<std::string>>& places_of,
                                  const Seen& seen, Clock::time_point renewed_after) {
  std::optional<std::chrono::sys_seconds> soonest;
  for (const auto& entry : places_of) {
    const Seen& other = entry.first;
    if (&other == &seen) {
      continue;
    }
    if (other.expires < renewed_after) {
      return "";
    }
    if (!soonest || other.expires < *soonest) {
      soonest = other.expires;
    }
  }
  if (!soonest) {
    return "";
  }
  return fmt::format("; the others serve {} valid until {}{}",
                     places_of.size() == 2 ? "one" : "ones", format_seconds(*soonest),
                     places_of.size() == 2 ? "" : " or later");
}

// One warning per distinct `Seen` within `threshold`, naming where it is served; when only some
// places serve it, also what the others serve.
void warn(std::vector<Expiry>& warnings, ExpiryKind kind, const Firsts& firsts,
          std::chrono::milliseconds threshold, Clock::time_point now) {
  if (threshold.count() == 0 || firsts.empty()) {
    return;
  }
  std::map<Seen, std::vector<std::string>> places_of;
  for (const auto& [place, seen] : firsts) {
    places_of[seen].push_back(place);
  }
  const int of = static_cast<int>(firsts.size());
  for (const auto& [seen, places] : places_of) {
    if (seen.expires >= now + threshold || seen.fresh) {
      continue;
    }
    Expiry expiry{kind, seen.subject, seen.expires, places, of, ""};
    const bool some = static_cast<int>(places.size()) < of;
    if (kind == ExpiryKind::Certificate) {
      expiry.text = fmt::format("certificate {} {}, served at {}", seen.subject,
                                when(seen.expires, now, false), fmt::join(places, ", "));
      if (some) {
        expiry.text += fmt::format(" ({} of {} addresses{})", places.size(), of,
                                   what_the_others_serve(places_of, seen, now + threshold));
      }
    } else {
      expiry.text = fmt::format("DNSSEC signatures by {} {}, at {}", seen.subject,
                                when(seen.expires, now, true), fmt::join(places, ", "));
      if (some) {
        expiry.text += fmt::format(" ({} of {} nameservers)", places.size(), of);
      }
    }
    warnings.push_back(std::move(expiry));
  }
}

}  // namespace

std::string time_left(Clock::duration left) {
  const bool past = left < Clock::duration::zero();
  const auto span = past ? -left : left;
  const auto plural = [](auto count, const char* unit) {
    return fmt::format("{} {}{}", count, unit, count == 1 ? "" : "s");
  };
  // Two of a unit before it is used: "47 hours" says more than "1 day".
  const auto days = std::chrono::floor<std::chrono::days>(span).count();
  const auto hours = std::chrono::floor<std::chrono::hours>(span).count();
  const auto minutes = std::chrono::floor<std::chrono::minutes>(span).count();
  if (days < 2 && hours < 2 && minutes == 0) {
    return past ? "just now" : "in under a minute";
  }
  const std::string amount = days >= 2    ? plural(days, "day")
                             : hours >= 2 ? plural(hours, "hour")
                                          : plural(minutes, "minute");
  return past ? amount + " ago" : "in " + amount;
}

std::vector<Expiry> expiring(const CycleResult& cycle, const ExpiryThresholds& warn_before,
                             Clock::time_point now) {
  Firsts certificates;
  Firsts signatures;
  for (const auto& result : cycle.results) {
    if (is_web_check(result.check) && result.tls) {
      if (const auto seen = certificate_of(*result.tls)) {
        note(certificates, result.target, *seen);
      }
    }
    if (result.check == Check::DnsAuthoritative && result.dns) {
      for (const auto& signature : result.dns->signatures) {
        // An online signer (Cloudflare's, for one) signs each answer as it goes out, valid for a
        // day or two: its signatures are always close to their end and never lapse. A signature
        // is warned of only once half its validity has passed without a new one. Fresh ones are
        // noted all the same: they count among the nameservers that serve signatures.
        const bool fresh =
            now - signature.inception < (signature.expiration - signature.inception) / 2;
        note(signatures, result.target, Seen{signing_key(signature), signature.expiration, fresh});
      }
    }
  }
  std::vector<Expiry> warnings;
  warn(warnings, ExpiryKind::Certificate, certificates, warn_before.certificate, now);
  warn(warnings, ExpiryKind::Signature, signatures, warn_before.signature, now);
  std::stable_sort(warnings.begin(), warnings.end(),
                   [](const Expiry& a, const Expiry& b) { return a.expires < b.expires; });
  return warnings;
}

}  // namespace vantage
