// A ca_file pins: given one, a client trusts that CA alone, not also every CA the system trusts.
// Each case makes the system trust a CA of its own for the case's duration (this binary runs as
// root, see main.cc), serves a certificate from it, and checks that a client pinned to another
// CA refuses it, while the same client unpinned, or pinned to the right CA, gets in. The last
// case uses the same stand-in collector to hand the agent a target it cannot compile.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "probe_lab.hh"
#include "support/certs.hh"
#include "support/net.hh"
#include "support/nginx.hh"
#include "support/process.hh"
#include "support/temp_dir.hh"

namespace {

namespace fs = std::filesystem;
using std::string;
using namespace vantage::testing;

// libcurl's compiled-in CA directory on Debian, searched by OpenSSL under subject-hash names.
const fs::path kSystemCaDir = "/etc/ssl/certs";
constexpr uint16_t kPort = 8443;
const string kUrl = "https://localhost:" + std::to_string(kPort);

// Makes the system trust the CA certificate `pem` while the object lives: its hashed name in
// kSystemCaDir (`<subject hash>.<n>`, the first free n, created exclusively so that nothing there
// is replaced), removed by the destructor, so also when a check fails.
class SystemTrust {
 public:
  explicit SystemTrust(const string& pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    const X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
    if (!cert) {
      throw std::runtime_error("SystemTrust: not a PEM certificate");
    }
    const unsigned long hash = X509_subject_name_hash(cert.get());
    for (int n = 0; n < 100 && path_.empty(); ++n) {
      char name[32];
      std::snprintf(name, sizeof name, "%08lx.%d", hash, n);
      const fs::path path = kSystemCaDir / name;
      const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0 && errno == EEXIST) {
        continue;
      }
      if (fd < 0) {
        throw std::runtime_error("SystemTrust: cannot create " + path.string() + ": " +
                                 std::strerror(errno));
      }
      path_ = path;
      const bool written = write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size());
      close(fd);
      if (!written) {
        remove();
        throw std::runtime_error("SystemTrust: cannot write " + path.string());
      }
    }
    if (path_.empty()) {
      throw std::runtime_error("SystemTrust: no free hashed name in " + kSystemCaDir.string());
    }
  }
  ~SystemTrust() { remove(); }
  SystemTrust(const SystemTrust&) = delete;
  SystemTrust& operator=(const SystemTrust&) = delete;

 private:
  void remove() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  fs::path path_;
};

// A CA name no earlier or concurrent run shares, so its hashed name in the system directory is
// this run's alone.
string unique_ca_name(const string& role) {
  return "Vantage pin test " + role + " CA " + std::to_string(getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

// The path of the vantage-collector binary under test: $VANTAGE_COLLECTOR if set, else the one
// this build made.
string collector_path() {
  if (const char* path = std::getenv("VANTAGE_COLLECTOR")) {
    return path;
  }
  return VANTAGE_COLLECTOR_PATH;
}

// nginx on localhost:kPort answering every request with an empty target list (what a collector
// answers GET /api/v1/targets with), certified for localhost by a CA the system trusts. Next to
// it, the files of that CA and of another one.
struct PinLab {
  TempDir dir{"vantage-pin"};
  CertificateAuthority system_ca{unique_ca_name("system")};
  CertificateAuthority other_ca{unique_ca_name("other")};
  SystemTrust trust{system_ca.cert_pem()};
  fs::path system_ca_file = dir / "system-ca.crt";
  fs::path other_ca_file = dir / "other-ca.crt";
  NginxConfig web;
  std::optional<ChildProcess> nginx;

  // `body`: what nginx answers, with `"` escaped for its config.
  explicit PinLab(const string& body = R"({\"version\":1,\"targets\":[]})") {
    write_text(system_ca_file, system_ca.cert_pem());
    write_text(other_ca_file, other_ca.cert_pem());
    const auto leaf = system_ca.issue("localhost").write(dir.path(), "localhost");
    web.dir = dir.subdir("nginx");
    web.addresses = {"127.0.0.1", "::1"};
    web.port = kPort;
    web.server_name = "localhost";
    web.certificate = leaf.cert;
    web.key = leaf.key;
    web.body = body;
    nginx.emplace(start_nginx(web));
  }

  // `vantage-collector targets list` against the server, with `--ca ca_file` unless empty.
  CommandResult list_targets(const fs::path& ca_file) const {
    std::vector<string> command = {
        "/usr/bin/env", "VANTAGE_TOKEN=unused", collector_path(), "targets", "list", "--url", kUrl};
    if (!ca_file.empty()) {
      command.insert(command.end(), {"--ca", ca_file.string()});
    }
    return run_command(command, std::chrono::seconds(20));
  }

  // How many TLS handshakes nginx saw a client abort because it did not trust the certificate.
  size_t refused_handshakes() const {
    const string log = read_text(web.dir / "error.log");
    size_t count = 0;
    for (auto at = log.find("alert unknown ca"); at != string::npos;
         at = log.find("alert unknown ca", at + 1)) {
      ++count;
    }
    return count;
  }
};

}  // namespace

TEST_CASE("vantage-collector --ca pins: a collector certified by any other CA is refused",
          "[tls][pinning][loopback]") {
  PinLab lab;
  // The premise: the system trusts the server's CA, so the CLI without --ca gets in.
  const auto unpinned = lab.list_targets({});
  INFO(unpinned.err);
  REQUIRE(unpinned.exit_code == 0);
  CHECK(unpinned.out == "no targets, version 1\n");

  const auto right_pin = lab.list_targets(lab.system_ca_file);
  CHECK(right_pin.exit_code == 0);

  const auto wrong_pin = lab.list_targets(lab.other_ca_file);
  INFO(wrong_pin.out);
  CHECK(wrong_pin.exit_code == 1);
  CHECK_THAT(wrong_pin.err, Catch::StartsWith("vantage-collector: cannot reach the collector at " +
                                              kUrl + ": SSL certificate problem"));
  CHECK(lab.refused_handshakes() == 1);
}

TEST_CASE("the agent's collector.ca_file pins: a collector certified by any other CA is refused",
          "[tls][pinning][loopback]") {
  PinLab lab;
  write_text(lab.dir / "agent.token", "unused\n");
  // The agent fetches the target list as soon as it starts; the server answers with one.
  const auto run_agent = [&](const string& name, const fs::path& ca_file) {
    const fs::path config = lab.dir / (name + ".yaml");
    write_text(config, "agent: { name: " + name + ", state_dir: " + lab.dir.subdir(name).string() +
                           " }\ncollector: { url: \"" + kUrl +
                           "\", token_file: " + (lab.dir / "agent.token").string() +
                           ", ca_file: " + ca_file.string() + " }\n");
    return ChildProcess(name, {agent_path().string(), "run", "--config", config.string()},
                        lab.dir / (name + ".log"));
  };
  const auto fetched_targets = [](const ChildProcess& agent) {
    return read_text(agent.log()).find("collector targets: 0 (version 1)") != string::npos;
  };

  ChildProcess right = run_agent("vp-right-pin", lab.system_ca_file);
  CHECK(wait_until([&] {
    right.expect_running();
    return fetched_targets(right);
  }));
  right.stop();

  ChildProcess wrong = run_agent("vp-wrong-pin", lab.other_ca_file);
  // Its heartbeat and its target poll: each handshake aborted by the agent, none served.
  CHECK(wait_until([&] {
    wrong.expect_running();
    return lab.refused_handshakes() >= 2;
  }));
  wrong.stop();
  INFO(read_text(wrong.log()));
  CHECK_FALSE(fetched_targets(wrong));
}

TEST_CASE("the HTTPS probe's --ca pins: a site whose CA only the system trusts is CertUntrusted",
          "[https][pinning][loopback]") {
  ProbeLab lab;
  const SystemTrust trust(lab.untrusted_ca_pem());
  lab.serve_certificate(Leaf::UntrustedCa);
  const ProbeRun run = lab.probe();  // always with --ca, the lab's own CA
  INFO(run.describe());
  REQUIRE_FALSE(run.outcome.timed_out);
  CHECK(run.verdict() == "TLS_FAILURE");
  for (const auto web : {kWebV4, kWebV6}) {
    const auto https = run.result("Https", target(web, 443));
    REQUIRE(https.has_value());
    CHECK(https->value("failure", "") == "CertUntrusted");
    CHECK(https->value("phase", "") == "Tls");
  }
}

namespace {

// Runs an agent that takes its targets from the lab's collector until it has scheduled `wanted`
// of them, and returns its log.
string agent_log_after_polling(PinLab& lab, int wanted) {
  write_text(lab.dir / "agent.token", "unused\n");
  const fs::path config = lab.dir / "agent.yaml";
  write_text(config, "agent: { name: vp-1, state_dir: " + lab.dir.subdir("state").string() +
                         " }\ncollector: { url: \"" + kUrl +
                         "\", token_file: " + (lab.dir / "agent.token").string() +
                         ", ca_file: " + lab.system_ca_file.string() + " }\n");
  ChildProcess agent("vantage-agent", {agent_path().string(), "run", "--config", config.string()},
                     lab.dir / "agent.log");
  const auto log = [&] { return read_text(agent.log()); };
  const string polled = "collector targets: " + std::to_string(wanted) + " (version 1)";
  CHECK(wait_until([&] {
    agent.expect_running();
    return log().find(polled) != string::npos;
  }));
  agent.stop();
  return log();
}

}  // namespace

TEST_CASE("a collector target whose body_regex RE2 refuses is skipped with a warning, not the rest",
          "[body_regex][loopback]") {
  // What a collector of an earlier version may still hold: a pattern only ECMAScript accepts.
  PinLab lab(R"({\"version\":1,\"targets\":[{\"domain\":\"bad.example\",)"
             R"(\"body_regex\":\"(?=x)\"},{\"domain\":\"good.example\"}]})");
  const string log = agent_log_after_polling(lab, 1);
  INFO(log);
  CHECK_THAT(log, Catch::Contains("[warning] collector target bad.example skipped: its "
                                  "body_regex \"(?=x)\" is not a valid regular expression "
                                  "(RE2 syntax): invalid perl operator: (?="));
  CHECK_THAT(log, Catch::Contains("target good.example scheduled"));
  CHECK_THAT(log, !Catch::Contains("target bad.example scheduled"));
}

TEST_CASE(
    "collector targets of every kind are scheduled; one of an unknown kind or an "
    "unreadable ca_file is skipped with a warning",
    "[targets][loopback]") {
  PinLab lab(R"({\"version\":1,\"targets\":[)"
             R"({\"domain\":\"new.example\",\"kind\":\"quic\"},)"
             R"({\"domain\":\"pinned.example\",\"ca_file\":\"/nonexistent/ca.pem\"},)"
             R"({\"domain\":\"mail.example\",\"kind\":\"tcp\",\"port\":25},)"
             R"({\"domain\":\"192.0.2.10\",\"kind\":\"http\",\"port\":80}]})");
  const string log = agent_log_after_polling(lab, 2);
  INFO(log);
  CHECK_THAT(log, Catch::Contains("[warning] collector target new.example skipped: this agent "
                                  "does not know the kind \"quic\""));
  CHECK_THAT(log, Catch::Contains("[warning] collector target pinned.example skipped: its "
                                  "ca_file /nonexistent/ca.pem cannot be read here: No such "
                                  "file or directory"));
  CHECK_THAT(log, Catch::Contains("target mail.example scheduled"));
  CHECK_THAT(log, Catch::Contains("target 192.0.2.10 scheduled"));
}
