#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hh"
#include "storage.hh"
#include "support/process.hh"
#include "support/temp_dir.hh"

namespace vantage::testing {

// A reply as the test saw it.
struct Reply {
  long status = 0;  // 0: no HTTP answer (see error)
  std::string body;
  std::map<std::string, std::string>
      headers;                  // names lower-cased; a repeated one's values a line each
  std::string error;            // curl's words when status is 0
  nlohmann::json json() const;  // the body, or null if it is not JSON
  std::string header(const std::string& lower_case_name) const;  // "" if absent
};

struct Request {
  std::string method = "GET";
  std::string url;
  std::string token;  // empty: no Authorization header
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  std::string ca_file;
  bool chunked = false;        // send the body without a Content-Length
  std::string source_address;  // connect from this local address ("127.0.2.1"), not the default
};

Reply send(const Request& request);

// A cycle document as an agent sends it, valid for cycle_from_json.
nlohmann::json cycle_document(const std::string& domain);
// A cycle with the agent's reading `verdict` and the failed probes that go with it (ROUTE_LOSS:
// authoritative and TCP NetUnreachable; SERVER_DOWN: TCP ConnRefused; VANTAGE_ISOLATED: the
// control targets time out), started at `started_at`. Its reading's evidence names those probes
// as an agent does; `warnings` are more failed probes that did not decide the verdict.
nlohmann::json cycle_document(const std::string& domain, Verdict verdict,
                              std::chrono::system_clock::time_point started_at,
                              const std::vector<ProbeResult>& warnings = {});
// A failed probe, for cycle_document's warnings.
ProbeResult failed_probe(Check check, const std::string& target, Failure failure);
// {"schema_version":1,"agent":AGENT,"results":[{"seq":S,"cycle":...} for S in seqs]}.
nlohmann::json result_batch(const std::string& agent, const std::vector<uint64_t>& seqs,
                            const std::string& domain = "social.example");

// One `vantage-collector serve` on 127.0.0.1, port chosen by the kernel, with a SQLite store in
// a temporary directory. Stopped (SIGTERM, then SIGKILL) when the object goes away.
class CollectorFixture {
 public:
  // `extra_yaml` is appended to collector.yaml (for instance a limits: section).
  explicit CollectorFixture(std::string extra_yaml = "", bool tls = false);
  ~CollectorFixture();
  CollectorFixture(const CollectorFixture&) = delete;
  CollectorFixture& operator=(const CollectorFixture&) = delete;

  // `vantage-collector token create NAME [--operator]`; the token it printed.
  std::string create_token(const std::string& name, bool operator_token = false);
  // Starts the daemon and waits (bounded) for /healthz; throws with the log's tail on failure.
  void start();
  // SIGTERM, then SIGKILL after a grace period; how the daemon ended (ChildProcess::stop).
  ProcessExit stop();
  // The daemon's process id while it runs, for tests that signal it themselves.
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  // True once the daemon has exited (it is reaped then).
  bool exited() { return !process_ || !process_->running(); }
  uint16_t port() const { return port_; }

  std::string url() const;  // "http://127.0.0.1:PORT" or "https://..."
  Reply get(const std::string& path, const std::string& token = "") const;
  Reply post(const std::string& path, const std::string& token, const std::string& body,
             std::vector<std::string> headers = {}) const;
  // The same from another loopback address, as an agent in another network would connect.
  Reply post_from(const std::string& source_address, const std::string& path,
                  const std::string& token, const std::string& body) const;

  // The collector's stderr so far, or from `offset` (a size of an earlier log()).
  std::string log(size_t offset = 0) const;
  // The results in the store, read with the storage library on the same file.
  uint64_t stored_results() const;
  std::unique_ptr<Storage> open_store() const;

  // Runs the binary with `args` and waits; `env` entries ("NAME=value") are set, VANTAGE_TOKEN,
  // VANTAGE_URL, VANTAGE_CA and VANTAGE_CLIENT_CONFIG are cleared unless given, and the client
  // file is looked for in dir()/xdg/vantage/client.yaml (XDG_CONFIG_HOME).
  CommandResult cli(const std::vector<std::string>& args,
                    const std::vector<std::string>& env = {}) const;

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path config_file() const { return dir_ / "collector.yaml"; }
  std::filesystem::path db_file() const { return dir_ / "collector.db"; }
  std::filesystem::path ca_file() const { return dir_ / "tls.crt"; }  // TLS only
  bool tls() const { return tls_; }

 private:
  TempDir dir_;
  bool tls_;
  uint16_t port_ = 0;
  std::optional<ChildProcess> process_;
};

// The path of the binary under test.
std::string collector_binary();

}  // namespace vantage::testing
