#include "alertmanager_server.hh"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "http_receiver.hh"
#include "support/net.hh"

namespace vantage::testing {
namespace {

constexpr char kConfig[] = R"(global:
  resolve_timeout: 5m
route:
  receiver: "null"
receivers:
  - name: "null"
)";

struct HttpReply {
  long status = 0;  // 0: no reply (refused, timed out)
  std::string body;
};

// CURLOPT_WRITEFUNCTION
size_t append_body(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

HttpReply http_get(const std::string& url) {
  const std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(),
                                                                 &curl_easy_cleanup);
  if (!easy) {
    throw std::runtime_error("cannot create a curl handle");
  }
  HttpReply reply;
  curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(easy.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &reply.body);
  if (curl_easy_perform(easy.get()) == CURLE_OK) {
    curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  }
  return reply;
}

ChildProcess start(const TempDir& dir, uint16_t port) {
  const auto program = AlertmanagerServer::binary();
  if (!program) {
    throw std::runtime_error("prometheus-alertmanager is not installed");
  }
  write_text(dir / "alertmanager.yml", kConfig);
  return ChildProcess("alertmanager",
                      {program->string(), "--config.file=" + (dir / "alertmanager.yml").string(),
                       "--storage.path=" + dir.subdir("data").string(),
                       fmt::format("--web.listen-address=127.0.0.1:{}", port),
                       "--cluster.listen-address=", "--log.level=warn"},
                      dir / "alertmanager.log");
}

}  // namespace

std::optional<std::filesystem::path> AlertmanagerServer::binary() {
  return find_program("prometheus-alertmanager");
}

bool AlertmanagerServer::required() {
  const char* require = std::getenv("VANTAGE_REQUIRE_LAB");
  return require != nullptr && std::string_view(require) == "1";
}

AlertmanagerServer::AlertmanagerServer() : port_(unused_port()), process_(start(dir_, port_)) {
  const bool ready = wait_until(
      [&] {
        process_.expect_running();
        return http_get(url() + "/-/ready").status == 200;
      },
      WaitBudget{.attempts = 300,
                 .interval = std::chrono::milliseconds(50),
                 .limit = std::chrono::seconds(15)});
  if (!ready) {
    throw std::runtime_error("alertmanager not ready within 15 s:\n" + process_.log_tail());
  }
}

std::string AlertmanagerServer::url() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}

nlohmann::json AlertmanagerServer::alerts(const std::string& query) {
  const HttpReply reply = http_get(url() + "/api/v2/alerts" + query);
  if (reply.status != 200) {
    throw std::runtime_error(
        fmt::format("GET /api/v2/alerts{}: status {}: {}", query, reply.status, reply.body));
  }
  return nlohmann::json::parse(reply.body);
}

std::optional<nlohmann::json> AlertmanagerServer::alert_for(const std::string& domain,
                                                            const std::string& query) {
  for (const nlohmann::json& alert : alerts(query)) {
    if (alert["labels"].value("domain", "") == domain) {
      return alert;
    }
  }
  return std::nullopt;
}

}  // namespace vantage::testing
