#include "support/dnssec.hh"

#include <ctime>
#include <stdexcept>

#include "support/process.hh"

namespace vantage::testing {
namespace {

std::string program(std::string_view name) {
  const auto path = find_program(name);
  if (!path) {
    throw std::runtime_error(std::string(name) + " is not installed (Debian package ldnsutils)");
  }
  return path->string();
}

CommandResult must_run(const std::vector<std::string>& argv) {
  auto result = run_command(argv);
  if (result.exit_code != 0) {
    throw std::runtime_error(argv.front() + " failed: " + result.err + result.out);
  }
  return result;
}

// ldns's YYYYMMDDhhmmss, in UTC.
std::string ldns_time(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[16] = {};
  std::strftime(text, sizeof text, "%Y%m%d%H%M%S", &parts);
  return text;
}

}  // namespace

SignatureWindow valid_signatures() {
  const auto now = std::chrono::system_clock::now();
  return {now - std::chrono::hours(1), now + std::chrono::hours(24 * 28)};
}

bool can_sign_zones() {
  return find_program("ldns-keygen") && find_program("ldns-signzone") &&
         find_program("ldns-key2ds");
}

SigningKey make_signing_key(const std::filesystem::path& dir, const std::string& zone) {
  // ldns-keygen writes its files into the working directory and prints their base name.
  const auto made =
      must_run({"/bin/sh", "-c", "cd \"$0\" && exec \"$1\" -a ECDSAP256SHA256 -k \"$2\"",
                dir.string(), program("ldns-keygen"), zone});
  SigningKey key;
  key.zone = zone;
  key.base = dir / made.out.substr(0, made.out.find('\n'));
  // "social.test.	3600	IN	DS	6331 13 2 d8d6…": the RDATA is what follows "DS".
  const auto ds = must_run({program("ldns-key2ds"), "-n", "-2", key.base.string() + ".key"});
  const auto type = ds.out.find("\tDS\t");
  if (type == std::string::npos) {
    throw std::runtime_error("ldns-key2ds printed no DS record: " + ds.out);
  }
  std::string rdata = ds.out.substr(type + 4);
  rdata.erase(rdata.find_last_not_of(" \t\n") + 1);
  key.ds = rdata;
  key.key_tag = std::stoi(rdata);
  return key;
}

void sign_zone(const std::filesystem::path& zonefile, const std::filesystem::path& signed_file,
               const SigningKey& key, SignatureWindow window) {
  must_run({program("ldns-signzone"), "-i", ldns_time(window.inception), "-e",
            ldns_time(window.expiration), "-o", key.zone, "-f", signed_file.string(),
            zonefile.string(), key.base.string()});
}

}  // namespace vantage::testing
