#include "collector_fixture.hh"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <stdexcept>

#include "reading.hh"
#include "result_json.hh"
#include "sample_cycle.hh"
#include "support/net.hh"

namespace vantage::testing {
namespace {

using EasyPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    // A header sent twice (Set-Cookie) keeps both values, one per line.
    std::string& slot = (*static_cast<std::map<std::string, std::string>*>(user))[name];
    slot = slot.empty() ? value : slot + "\n" + value;
  }
  return size * count;
}

// CURLOPT_READFUNCTION for chunked uploads: curl cannot know the size, so it sends chunks.
struct Upload {
  std::string_view rest;
};
size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, upload->rest.size());
  std::copy_n(upload->rest.data(), n, buffer);
  upload->rest.remove_prefix(n);
  return n;
}

}  // namespace

nlohmann::json Reply::json() const {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json() : parsed;
}

std::string Reply::header(const std::string& lower_case_name) const {
  const auto found = headers.find(lower_case_name);
  return found == headers.end() ? "" : found->second;
}

Reply send(const Request& request) {
  EasyPtr easy(curl_easy_init(), &curl_easy_cleanup);
  CURL* curl = easy.get();
  Reply reply;
  char error[CURL_ERROR_SIZE] = {};
  Upload upload{request.body};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  if (!request.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  }
  const std::string interface = "host!" + request.source_address;
  if (!request.source_address.empty()) {
    curl_easy_setopt(curl, CURLOPT_INTERFACE, interface.c_str());
  }
  std::vector<std::string> headers = request.headers;
  if (!request.token.empty()) {
    headers.push_back("Authorization: Bearer " + request.token);
  }
  if (request.chunked) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    headers.emplace_back("Transfer-Encoding: chunked");
  } else if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  if (!request.body.empty() &&
      std::none_of(headers.begin(), headers.end(),
                   [](const std::string& h) { return h.rfind("Content-Type:", 0) == 0; })) {
    headers.emplace_back("Content-Type: application/json");
  }
  curl_slist* list = nullptr;
  for (const auto& header : headers) {
    list = curl_slist_append(list, header.c_str());
  }
  HeaderList header_list(list, &curl_slist_free_all);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    reply.error = error[0] != '\0' ? error : curl_easy_strerror(code);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

nlohmann::json cycle_document(const std::string& domain) {
  return to_json(healthy_cycle(domain));
}

ProbeResult failed_probe(Check check, const std::string& target, Failure failure) {
  ProbeResult probe;
  probe.check = check;
  probe.target = target;
  probe.failure = failure;
  probe.phase = Phase::Connect;
  return probe;
}

nlohmann::json cycle_document(const std::string& domain, Verdict verdict,
                              std::chrono::system_clock::time_point started_at,
                              const std::vector<ProbeResult>& warnings) {
  CycleResult cycle;
  cycle.domain = domain;
  cycle.started_at = started_at;
  cycle.duration = std::chrono::milliseconds(120);
  switch (verdict) {
    case Verdict::RouteLoss:
      cycle.results.push_back(
          failed_probe(Check::DnsAuthoritative, "203.0.113.53:53", Failure::NetUnreachable));
      cycle.results.push_back(
          failed_probe(Check::Tcp, "203.0.113.80:443", Failure::NetUnreachable));
      break;
    case Verdict::ServerDown:
      cycle.results.push_back(failed_probe(Check::Tcp, "203.0.113.80:443", Failure::ConnRefused));
      break;
    case Verdict::VantageIsolated:
      cycle.results.push_back(failed_probe(Check::Control, "198.51.100.10:53", Failure::Timeout));
      break;
    default:
      break;
  }
  cycle.reading.verdict = verdict;
  cycle.reading.summary = std::string(to_string(verdict));
  // The agent's reading names the probes that decided it, first, and the rest as warnings.
  for (const auto& result : cycle.results) {
    cycle.reading.evidence.push_back(describe(result));
  }
  for (const auto& warning : warnings) {
    cycle.results.push_back(warning);
    cycle.reading.warnings.push_back(describe(warning));
  }
  return to_json(cycle);
}

nlohmann::json result_batch(const std::string& agent, const std::vector<uint64_t>& seqs,
                            const std::string& domain) {
  nlohmann::json results = nlohmann::json::array();
  for (const uint64_t seq : seqs) {
    results.push_back({{"seq", seq}, {"cycle", cycle_document(domain)}});
  }
  return {{"schema_version", 1}, {"agent", agent}, {"results", results}};
}

std::string collector_binary() {
  if (const char* path = std::getenv("VANTAGE_COLLECTOR")) {
    return path;
  }
  return VANTAGE_COLLECTOR_PATH;
}

CollectorFixture::CollectorFixture(std::string extra_yaml, bool tls)
    : dir_("vantage-collector-test"), tls_(tls) {
  std::string config =
      fmt::format("listen: \"127.0.0.1:0\"\nstorage: {{ sqlite: {} }}\n", db_file().string());
  if (tls_) {
    // A self-signed certificate for 127.0.0.1, made with the openssl CLI the way an operator
    // would; it is its own CA for the client's --ca.
    const auto openssl = find_program("openssl");
    if (!openssl) {
      throw std::runtime_error("the openssl command is not installed");
    }
    const auto made =
        run_command({openssl->string(), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                     "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                     "-keyout", (dir_ / "tls.key").string(), "-out", (dir_ / "tls.crt").string()});
    if (made.exit_code != 0) {
      throw std::runtime_error("openssl req failed: " + made.err);
    }
    config += fmt::format("tls: {{ cert: {}, key: {} }}\n", (dir_ / "tls.crt").string(),
                          (dir_ / "tls.key").string());
  }
  write_text(config_file(), config + extra_yaml);
}

CollectorFixture::~CollectorFixture() {
  stop();
}

std::string CollectorFixture::create_token(const std::string& name, bool operator_token) {
  std::vector<std::string> args = {"token", "create", name, "--config", config_file().string()};
  if (operator_token) {
    args.emplace_back("--operator");
  }
  const auto result = cli(args);
  if (result.exit_code != 0) {
    throw std::runtime_error("token create failed: " + result.err);
  }
  std::string token = result.out;
  token.erase(token.find_last_not_of("\r\n") + 1);
  return token;
}

void CollectorFixture::start() {
  // A restart appends to the same log: read only what this run writes.
  const size_t log_start = log().size();
  process_.emplace(
      "vantage-collector",
      std::vector<std::string>{collector_binary(), "serve", "--config", config_file().string()},
      dir_ / "collector.log");
  static const std::regex kListening(R"(listening on 127\.0\.0\.1:(\d+))");
  const bool listening = wait_until([&] {
    process_->expect_running();
    std::smatch match;
    const std::string text = log(log_start);
    if (!std::regex_search(text, match, kListening)) {
      return false;
    }
    port_ = static_cast<uint16_t>(std::stoi(match[1]));
    return true;
  });
  if (!listening) {
    throw std::runtime_error("the collector did not log its port; its log:\n" +
                             process_->log_tail());
  }
  const bool healthy = wait_until([&] {
    process_->expect_running();
    return get("/healthz").status == 200;
  });
  if (!healthy) {
    throw std::runtime_error("/healthz never answered 200; the log:\n" + process_->log_tail());
  }
}

ProcessExit CollectorFixture::stop() {
  if (!process_) {
    return {};
  }
  const ProcessExit end = process_->stop();
  process_.reset();
  return end;
}

std::string CollectorFixture::url() const {
  return fmt::format("{}://127.0.0.1:{}", tls_ ? "https" : "http", port_);
}

Reply CollectorFixture::get(const std::string& path, const std::string& token) const {
  Request request;
  request.url = url() + path;
  request.token = token;
  if (tls_) {
    request.ca_file = ca_file().string();
  }
  return send(request);
}

Reply CollectorFixture::post(const std::string& path, const std::string& token,
                             const std::string& body, std::vector<std::string> headers) const {
  Request request;
  request.method = "POST";
  request.url = url() + path;
  request.token = token;
  request.body = body;
  request.headers = std::move(headers);
  if (tls_) {
    request.ca_file = ca_file().string();
  }
  return send(request);
}

Reply CollectorFixture::post_from(const std::string& source_address, const std::string& path,
                                  const std::string& token, const std::string& body) const {
  Request request;
  request.method = "POST";
  request.url = url() + path;
  request.token = token;
  request.body = body;
  request.source_address = source_address;
  if (tls_) {
    request.ca_file = ca_file().string();
  }
  return send(request);
}

std::string CollectorFixture::log(size_t offset) const {
  const std::string text = read_text(dir_ / "collector.log");
  return offset < text.size() ? text.substr(offset) : "";
}

std::unique_ptr<Storage> CollectorFixture::open_store() const {
  auto store = open_sqlite_storage(db_file().string());
  store->migrate();  // already done by the daemon: a no-op, which the interface asks for anyway
  return store;
}

uint64_t CollectorFixture::stored_results() const {
  return open_store()->count_results();
}

CommandResult CollectorFixture::cli(const std::vector<std::string>& args,
                                    const std::vector<std::string>& env) const {
  // Nothing of the tester's own shell or client file: only what the test gives.
  std::vector<std::string> argv = {"/usr/bin/env",
                                   "-u",
                                   "VANTAGE_TOKEN",
                                   "-u",
                                   "VANTAGE_URL",
                                   "-u",
                                   "VANTAGE_CA",
                                   "-u",
                                   "VANTAGE_CLIENT_CONFIG",
                                   "XDG_CONFIG_HOME=" + (dir() / "xdg").string()};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(collector_binary());
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, std::chrono::seconds(30));
}

}  // namespace vantage::testing
