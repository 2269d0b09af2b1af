#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "asn_database.hh"

using namespace vantage;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

// MaxMind's own test databases (MaxMind-DB repository, test-data/), shared between checkouts.
const fs::path kMaxmindDir = fs::path(VANTAGE_SHARED_TESTDATA_DIR) / "maxmind";

// Fails, rather than skips, when a database is missing: a silently skipped lookup test would
// hide a broken checkout.
std::string maxmind_file(const std::string& name) {
  const fs::path path = kMaxmindDir / name;
  if (!fs::exists(path)) {
    FAIL("MaxMind test database " << path.string()
                                  << " is missing; VANTAGE_SHARED_TESTDATA_DIR (the test "
                                     "data beside the checkout) must hold it");
  }
  return path.string();
}

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "vantage-asn-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path = pattern;
  }
  ~TempDir() { fs::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path path;
};

std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (const char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

struct ScriptRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

// Runs scripts/write-asn-db from the source tree with `args`.
ScriptRun write_asn_db(const TempDir& dir, const std::vector<std::string>& args) {
  const fs::path output = dir.path / "write-asn-db.out";
  std::string command = shell_quote(std::string(VANTAGE_SOURCE_DIR) + "/scripts/write-asn-db");
  for (const auto& arg : args) {
    command += " " + shell_quote(arg);
  }
  command += " >" + shell_quote(output.string()) + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(output);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

// What opening `path` throws as std::runtime_error; anything else (or nothing) fails the test.
std::string open_error(const std::string& path) {
  try {
    const AsnDatabase db(path);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  FAIL("opening " << path << " did not throw");
  return "";
}

void require_perl_writer() {
  if (std::system("perl -MMaxMind::DB::Writer::Tree -e 1 >/dev/null 2>&1") != 0) {
    FAIL(
        "perl module MaxMind::DB::Writer::Tree is missing: apt-get install "
        "libmaxmind-db-writer-perl (scripts/setup installs it)");
  }
}

}  // namespace

TEST_CASE("the MaxMind test ASN database gives known IPv4 networks' ASN and organization",
          "[asn]") {
  const AsnDatabase db(maxmind_file("GeoLite2-ASN-Test.mmdb"));
  // 1.0.0.0/24 and 15.0.0.0/8 in GeoLite2-ASN-Test.json.
  CHECK(db.lookup("1.0.0.1") == 15169);
  CHECK(db.organization("1.0.0.1") == "Google Inc.");
  CHECK(db.lookup("15.255.255.255") == 71);
  CHECK(db.organization("15.255.255.255") == "Hewlett-Packard Company");
  // An agent connecting over IPv4 to a dual-stack listener shows up IPv4-mapped.
  CHECK(db.lookup("::ffff:1.0.0.1") == 15169);
}

TEST_CASE("the MaxMind test ASN database gives known IPv6 networks' ASN and organization",
          "[asn]") {
  const AsnDatabase db(maxmind_file("GeoLite2-ASN-Test.mmdb"));
  // 2001:1700::/27 and 2003::/19 in GeoLite2-ASN-Test.json.
  CHECK(db.lookup("2001:1700::1") == 6730);
  CHECK(db.organization("2001:1700::1") == "Sunrise Communications AG");
  CHECK(db.lookup("2003:1fff:ffff::1") == 3320);
  CHECK(db.organization("2003:1fff:ffff::1") == "Deutsche Telekom AG");
}

TEST_CASE("a network with an ASN but no organization gives the ASN and an empty organization",
          "[asn]") {
  const AsnDatabase db(maxmind_file("GeoLite2-ASN-Test.mmdb"));
  // 12.81.96.0/19 carries only autonomous_system_number.
  CHECK(db.lookup("12.81.96.1") == 7018);
  CHECK(db.organization("12.81.96.1").empty());
}

TEST_CASE("an address the MaxMind test ASN database does not hold has no ASN", "[asn]") {
  const AsnDatabase db(maxmind_file("GeoLite2-ASN-Test.mmdb"));
  for (const auto* address : {"192.0.2.1", "10.1.2.3", "2001:db8::1", "::1"}) {
    INFO(address);
    CHECK_FALSE(db.lookup(address).has_value());
    CHECK(db.organization(address).empty());
  }
}

TEST_CASE("a string that is not an address literal has no ASN", "[asn]") {
  const AsnDatabase db(maxmind_file("GeoLite2-ASN-Test.mmdb"));
  // "1.0.0.1\0x" would look up 1.0.0.1 if passed on as a C string.
  for (const auto& input : {"not-an-address"s, ""s, "1.0.0.256"s, "1.0.0.0/24"s, "1.0.0.1:443"s,
                            "[2001:1700::1]"s, "localhost"s, "1.0.0.1\0x"s}) {
    INFO(input);
    CHECK_FALSE(db.lookup(input).has_value());
    CHECK(db.organization(input).empty());
  }
}

TEST_CASE("lookups from several threads at once agree", "[asn]") {
  const AsnDatabase db(maxmind_file("GeoLite2-ASN-Test.mmdb"));
  std::atomic<int> wrong{0};
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&db, &wrong] {
      for (int i = 0; i < 2000; ++i) {
        if (db.lookup("1.0.0.1") != 15169 || db.lookup("2001:1700::1") != 6730 ||
            db.lookup("192.0.2.1").has_value()) {
          ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(wrong == 0);
}

TEST_CASE("opening a missing ASN database throws naming the file and the reason", "[asn]") {
  TempDir dir;
  const std::string path = (dir.path / "no-such.mmdb").string();
  CHECK_THAT(open_error(path), Catch::Matchers::Contains(path) &&
                                   Catch::Matchers::Contains("No such file or directory"));
}

TEST_CASE("opening a broken MaxMind database throws naming the file", "[asn]") {
  const std::string path = maxmind_file("GeoIP2-City-Test-Invalid-Node-Count.mmdb");
  CHECK_THAT(open_error(path), Catch::Matchers::Contains(path));
}

TEST_CASE("opening a file that is not a MaxMind database throws naming the file", "[asn]") {
  TempDir dir;
  const std::string path = (dir.path / "garbage.mmdb").string();
  std::ofstream(path) << "not a MaxMind DB\n";
  CHECK_THAT(open_error(path), Catch::Matchers::Contains(path));
}

TEST_CASE("a database whose record is corrupt gives no ASN instead of throwing", "[asn]") {
  // Opens fine; the record for 81.2.69.160 holds a double of the wrong size, which
  // libmaxminddb reports as MMDB_INVALID_DATA_ERROR while reading the map.
  const AsnDatabase db(maxmind_file("GeoIP2-City-Test-Broken-Double-Format.mmdb"));
  CHECK_FALSE(db.lookup("81.2.69.160").has_value());
  CHECK(db.organization("81.2.69.160").empty());
}

TEST_CASE("the network a database holds an address in is the announced prefix", "[asn]") {
  const AsnDatabase db(maxmind_file("GeoLite2-ASN-Test.mmdb"));
  CHECK(db.network("1.0.0.1") == "1.0.0.0/24");
  CHECK(db.network("15.255.255.255") == "15.0.0.0/8");
  CHECK(db.network("2001:1700::1") == "2001:1700::/27");
  CHECK_FALSE(db.network("192.0.2.1").has_value());
  CHECK_FALSE(db.network("not an address").has_value());
}

TEST_CASE("a path trace's lookup gives AS and network together, and nothing without a database",
          "[asn]") {
  const auto lookup =
      network_lookup(std::make_shared<const AsnDatabase>(maxmind_file("GeoLite2-ASN-Test.mmdb")));
  REQUIRE(lookup);
  const auto info = lookup("1.0.0.1");
  REQUIRE(info.has_value());
  CHECK(info->asn == 15169);
  CHECK(info->network == "1.0.0.0/24");
  CHECK_FALSE(lookup("192.0.2.1").has_value());
  CHECK_FALSE(network_lookup(nullptr));
}

TEST_CASE("a database from scripts/write-asn-db gives the lab ranges' ASNs and organizations",
          "[asn]") {
  require_perl_writer();
  TempDir dir;
  const std::string path = (dir.path / "lab.mmdb").string();
  const auto run = write_asn_db(
      dir, {path, "192.0.2.0/26=64510:Vantage Lab VP1", "192.0.2.64/26=64510",
            "192.0.2.128/26=64511:Lab: AS=64511", "2001:db8:510::/48=64510:Vantage Lab VP1"});
  INFO(run.output);
  REQUIRE(run.exit_code == 0);

  const AsnDatabase db(path);
  CHECK(db.lookup("192.0.2.1") == 64510);
  CHECK(db.organization("192.0.2.1") == "Vantage Lab VP1");
  CHECK(db.lookup("192.0.2.100") == 64510);
  CHECK(db.organization("192.0.2.100").empty());
  CHECK(db.lookup("192.0.2.130") == 64511);
  // Everything after the first ':' is the organization, ':' and '=' included.
  CHECK(db.organization("192.0.2.130") == "Lab: AS=64511");
  CHECK(db.lookup("::ffff:192.0.2.130") == 64511);
  CHECK(db.lookup("2001:db8:510:ffff::1") == 64510);
  CHECK(db.organization("2001:db8:510::1") == "Vantage Lab VP1");

  // Outside the ranges given: 192.0.2.192/26, other documentation ranges, a neighbouring /48.
  for (const auto* address : {"192.0.2.200", "198.51.100.1", "203.0.113.1", "2001:db8:511::1"}) {
    INFO(address);
    CHECK_FALSE(db.lookup(address).has_value());
  }
}

TEST_CASE("scripts/write-asn-db refuses bad ranges with exit 2 and a usage line", "[asn]") {
  require_perl_writer();
  TempDir dir;
  const std::string path = (dir.path / "bad.mmdb").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"192.0.2.0/26", "expected CIDR=ASN[:ORG]"},
      {"192.0.2.0=64510", "needs a /prefix-length"},
      {"192.0.2.0/33=64510", "not a valid IP network prefix length"},
      {"192.0.2.1/24=64510", "has host bits set"},
      {"not-a-net/24=64510", "not a valid IP network"},
      {"192.0.2.0/24=AS64510", "is not a decimal number"},
      {"192.0.2.0/24=4294967296", "does not fit in 32 bits"},
      {"192.0.2.0/24=64510:", "empty organization"},
  };
  for (const auto& [spec, message] : cases) {
    INFO(spec);
    const auto run = write_asn_db(dir, {path, spec});
    INFO(run.output);
    CHECK(run.exit_code == 2);
    CHECK_THAT(run.output, Catch::Matchers::Contains(message) &&
                               Catch::Matchers::Contains("usage: write-asn-db OUT.mmdb"));
    CHECK_FALSE(fs::exists(path));
  }
  const auto no_ranges = write_asn_db(dir, {path});
  CHECK(no_ranges.exit_code == 2);
  CHECK_THAT(no_ranges.output, Catch::Matchers::Contains("usage:"));
}
