#include <catch2/catch.hpp>

#include "expiry.hh"
#include "result_json.hh"

using namespace vantage;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::system_clock;

Clock::time_point at(const char* text) {
  return *parse_time(text);
}

ProbeResult https(const std::string& target, const std::string& not_after,
                  const std::string& earliest_subject = "",
                  const std::string& earliest_not_after = "") {
  ProbeResult result;
  result.check = Check::Https;
  result.target = target;
  result.tls = TlsDetails{.version = "TLSv1.3",
                          .subject = "CN=social.example",
                          .issuer = "CN=Lab CA",
                          .not_after = not_after,
                          .earliest_subject = earliest_subject,
                          .earliest_not_after = earliest_not_after};
  return result;
}

ProbeResult authoritative(const std::string& target, uint16_t key_tag, const char* expiration) {
  ProbeResult result;
  result.check = Check::DnsAuthoritative;
  result.target = target;
  DnsDetails dns{};
  dns.signatures.push_back(
      Signature{.owner = "social.example",
                .covered = 1,
                .algorithm = 13,
                .key_tag = key_tag,
                .signer = "social.example",
                .inception = std::chrono::floor<std::chrono::seconds>(at("2026-11-01T00:00:00Z")),
                .expiration = std::chrono::floor<std::chrono::seconds>(at(expiration))});
  result.dns = dns;
  return result;
}

const auto kNow = at("2026-11-29T12:00:00Z");

}  // namespace

TEST_CASE("a certificate within warn_before is warned of, one further away is not", "[expiry]") {
  CycleResult cycle;
  cycle.results = {https("203.0.113.80:443", "2026-12-02T12:00:00Z")};
  const auto warnings = expiring(cycle, ExpiryThresholds{}, kNow);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].kind == ExpiryKind::Certificate);
  CHECK(warnings[0].subject == "CN=social.example");
  CHECK(warnings[0].at == std::vector<std::string>{"203.0.113.80:443"});
  CHECK(warnings[0].of == 1);
  CHECK(warnings[0].text ==
        "certificate CN=social.example expires 2026-12-02T12:00:00Z (in 3 days), served at "
        "203.0.113.80:443");

  cycle.results = {https("203.0.113.80:443", "2026-12-14T12:00:00Z")};  // 15 days
  CHECK(expiring(cycle, ExpiryThresholds{}, kNow).empty());
  CHECK(expiring(cycle, ExpiryThresholds{.certificate = 16 * 24h, .signature = 3 * 24h}, kNow)
            .size() == 1);
  cycle.results = {https("203.0.113.80:443", "2026-11-30T12:00:00Z")};
  CHECK(expiring(cycle, ExpiryThresholds{.certificate = 0ms, .signature = 3 * 24h}, kNow).empty());
}

TEST_CASE("the certificate of the chain that expires first is the one warned of", "[expiry]") {
  CycleResult cycle;
  cycle.results = {
      https("203.0.113.80:443", "2027-03-01T00:00:00Z", "CN=Lab CA", "2026-12-06T00:00:00Z")};
  const auto warnings = expiring(cycle, ExpiryThresholds{}, kNow);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].subject == "CN=Lab CA");
  CHECK(warnings[0].text ==
        "certificate CN=Lab CA expires 2026-12-06T00:00:00Z (in 6 days), served at "
        "203.0.113.80:443");
}

TEST_CASE("a certificate served by only some addresses names them and what the others serve",
          "[expiry]") {
  CycleResult cycle;
  cycle.results = {https("203.0.113.80:443", "2026-12-01T00:00:00Z"),
                   https("203.0.113.81:443", "2027-02-27T00:00:00Z"),
                   https("[2001:db8::80]:443", "2027-02-27T00:00:00Z")};
  const auto warnings = expiring(cycle, ExpiryThresholds{}, kNow);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].at == std::vector<std::string>{"203.0.113.80:443"});
  CHECK(warnings[0].of == 3);
  CHECK(warnings[0].text ==
        "certificate CN=social.example expires 2026-12-01T00:00:00Z (in 36 hours), served at "
        "203.0.113.80:443 (1 of 3 addresses; the others serve one valid until "
        "2027-02-27T00:00:00Z)");
}

TEST_CASE("what the other addresses serve is said only when it outlasts the threshold",
          "[expiry]") {
  CycleResult cycle;
  // Both within 14 days: neither warning may call the other "valid until" as if renewed.
  cycle.results = {https("203.0.113.80:443", "2026-12-04T00:00:00Z"),
                   https("203.0.113.81:443", "2026-12-06T00:00:00Z")};
  auto warnings = expiring(cycle, ExpiryThresholds{}, kNow);
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].text.ends_with("served at 203.0.113.80:443 (1 of 2 addresses)"));
  CHECK(warnings[1].text.ends_with("served at 203.0.113.81:443 (1 of 2 addresses)"));

  // With a threshold of 5 days only the first is within it, and the other reads as renewed.
  warnings = expiring(cycle, ExpiryThresholds{.certificate = 5 * 24h, .signature = 3 * 24h}, kNow);
  REQUIRE(warnings.size() == 1);
  CHECK(
      warnings[0].text.ends_with("served at 203.0.113.80:443 (1 of 2 addresses; the others "
                                 "serve one valid until 2026-12-06T00:00:00Z)"));

  // Three groups, one stale: the others' soonest end is named, as a lower bound.
  cycle.results = {https("203.0.113.80:443", "2026-12-01T00:00:00Z"),
                   https("203.0.113.81:443", "2027-01-30T00:00:00Z"),
                   https("203.0.113.82:443", "2027-02-27T00:00:00Z")};
  warnings = expiring(cycle, ExpiryThresholds{}, kNow);
  REQUIRE(warnings.size() == 1);
  CHECK(
      warnings[0].text.ends_with("(1 of 3 addresses; the others serve ones valid until "
                                 "2027-01-30T00:00:00Z or later)"));
}

TEST_CASE("signatures an online signer makes for a day at a time are not warned of", "[expiry]") {
  CycleResult cycle;
  ProbeResult online = authoritative("192.0.2.53:53", 6331, "2026-11-30T12:00:00Z");
  online.dns->signatures[0].inception =
      std::chrono::floor<std::chrono::seconds>(at("2026-11-29T11:00:00Z"));
  cycle.results = {online};
  CHECK(expiring(cycle, ExpiryThresholds{}, kNow).empty());
  // However long the threshold: a fresh signature shows the signer at work.
  CHECK(expiring(cycle, ExpiryThresholds{.certificate = 14 * 24h, .signature = 30 * 24h}, kNow)
            .empty());
}

TEST_CASE("signatures made for no longer than the threshold are warned of once half has passed",
          "[expiry]") {
  // A signer that makes signatures for 14 days and stopped: with a 14-day threshold the
  // signatures are always within it, and are warned of from the middle of their validity on.
  CycleResult cycle;
  ProbeResult stopped = authoritative("192.0.2.53:53", 6331, "2026-12-03T00:00:00Z");
  stopped.dns->signatures[0].inception =
      std::chrono::floor<std::chrono::seconds>(at("2026-11-19T00:00:00Z"));
  cycle.results = {stopped};
  const ExpiryThresholds fortnight{.certificate = 14 * 24h, .signature = 14 * 24h};
  CHECK(expiring(cycle, fortnight, at("2026-11-25T23:59:59Z")).empty());
  CHECK(expiring(cycle, fortnight, at("2026-11-26T00:00:00Z")).size() == 1);
  CHECK(expiring(cycle, fortnight, kNow).size() == 1);
}

TEST_CASE("a fresh signature does not hide an older one left to expire", "[expiry]") {
  // One nameserver: a day-long online signature by one key, a stale 30-day one by another.
  CycleResult cycle;
  ProbeResult mixed = authoritative("192.0.2.53:53", 6331, "2026-12-01T12:00:00Z");
  Signature online = mixed.dns->signatures[0];
  online.key_tag = 4242;
  online.inception = std::chrono::floor<std::chrono::seconds>(at("2026-11-29T11:00:00Z"));
  online.expiration = std::chrono::floor<std::chrono::seconds>(at("2026-11-30T11:00:00Z"));
  mixed.dns->signatures.insert(mixed.dns->signatures.begin(), online);
  cycle.results = {mixed};
  const auto warnings = expiring(cycle, ExpiryThresholds{}, kNow);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].subject == "key 6331 (algorithm 13) of social.example");
}

TEST_CASE("a nameserver re-signed lately counts among those that serve signatures", "[expiry]") {
  // .53 still serves 30-day signatures from 28 days ago; .54 was re-signed yesterday.
  CycleResult cycle;
  ProbeResult stale = authoritative("192.0.2.53:53", 6331, "2026-12-01T12:00:00Z");
  ProbeResult renewed = authoritative("192.0.2.54:53", 6331, "2026-12-28T12:00:00Z");
  renewed.dns->signatures[0].inception =
      std::chrono::floor<std::chrono::seconds>(at("2026-11-28T12:00:00Z"));
  cycle.results = {stale, renewed};
  ExpiryThresholds long_threshold;
  long_threshold.signature = 30 * 24h;  // both within it: only the fresh one is left out
  for (const auto& thresholds : {ExpiryThresholds{}, long_threshold}) {
    const auto warnings = expiring(cycle, thresholds, kNow);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].at == std::vector<std::string>{"192.0.2.53:53"});
    CHECK(warnings[0].of == 2);
    CHECK(warnings[0].text.ends_with("at 192.0.2.53:53 (1 of 2 nameservers)"));
  }
}

TEST_CASE("DNSSEC signatures within warn_before are warned of per signing key", "[expiry]") {
  CycleResult cycle;
  cycle.results = {authoritative("192.0.2.53:53", 6331, "2026-12-01T10:00:00Z"),
                   authoritative("192.0.2.54:53", 6331, "2026-12-01T10:00:00Z"),
                   authoritative("192.0.2.53:53", 6331, "2026-12-20T10:00:00Z")};
  const auto warnings = expiring(cycle, ExpiryThresholds{}, kNow);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].kind == ExpiryKind::Signature);
  CHECK(warnings[0].subject == "key 6331 (algorithm 13) of social.example");
  CHECK(warnings[0].at == std::vector<std::string>{"192.0.2.53:53", "192.0.2.54:53"});
  CHECK(warnings[0].text ==
        "DNSSEC signatures by key 6331 (algorithm 13) of social.example expire "
        "2026-12-01T10:00:00Z (in 46 hours), at 192.0.2.53:53, 192.0.2.54:53");

  // One nameserver still serving the old signatures: only it is named.
  cycle.results = {authoritative("192.0.2.53:53", 6331, "2026-11-30T10:00:00Z"),
                   authoritative("192.0.2.54:53", 6331, "2026-12-20T10:00:00Z")};
  const auto stale = expiring(cycle, ExpiryThresholds{}, kNow);
  REQUIRE(stale.size() == 1);
  CHECK(stale[0].at == std::vector<std::string>{"192.0.2.53:53"});
  CHECK(stale[0].text.ends_with("at 192.0.2.53:53 (1 of 2 nameservers)"));

  CHECK(expiring(cycle, ExpiryThresholds{.certificate = 14 * 24h, .signature = 0ms}, kNow).empty());
}

TEST_CASE("what has expired already reads as expired, soonest first", "[expiry]") {
  CycleResult cycle;
  cycle.results = {https("203.0.113.80:443", "2026-12-05T00:00:00Z"),
                   authoritative("192.0.2.53:53", 6331, "2026-11-29T10:00:00Z")};
  const auto warnings = expiring(cycle, ExpiryThresholds{}, kNow);
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].kind == ExpiryKind::Signature);
  CHECK(warnings[0].text.find("expired 2026-11-29T10:00:00Z (2 hours ago)") != std::string::npos);
  CHECK(warnings[1].kind == ExpiryKind::Certificate);
}

TEST_CASE("time left reads in days, hours or minutes", "[expiry]") {
  CHECK(time_left(3 * 24h + 5h) == "in 3 days");
  CHECK(time_left(47h) == "in 47 hours");
  CHECK(time_left(119min) == "in 119 minutes");
  CHECK(time_left(1min) == "in 1 minute");
  CHECK(time_left(-3h) == "3 hours ago");
  CHECK(time_left(30s) == "in under a minute");
}
