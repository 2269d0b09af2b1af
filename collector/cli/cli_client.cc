#include "cli_client.hh"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

namespace vantage {
namespace {

using EasyPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

constexpr long kTimeoutMs = 15000;
// Replies of this API are small; a larger one is not from a collector.
constexpr size_t kMaxReplyBytes = size_t{64} << 20;

// CURLOPT_WRITEFUNCTION
size_t append_body(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * count > kMaxReplyBytes) {
    return 0;  // curl then fails the transfer with CURLE_WRITE_ERROR
  }
  body->append(data, size * count);
  return size * count;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

ApiClient::ApiClient(std::string url, std::string token, std::string ca_file)
    : url_(std::move(url)), token_(std::move(token)), ca_file_(std::move(ca_file)) {
  while (!url_.empty() && url_.back() == '/') {
    url_.pop_back();
  }
}

ApiReply ApiClient::request(const std::string& method, const std::string& path,
                            const std::string& body) const {
  global_init();
  EasyPtr easy(curl_easy_init(), &curl_easy_cleanup);
  if (!easy) {
    throw ClientError("cannot create a curl handle");
  }
  CURL* curl = easy.get();
  const std::string target = url_ + path;
  char error[CURL_ERROR_SIZE] = {};
  ApiReply reply;
  curl_easy_setopt(curl, CURLOPT_URL, target.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  if (!ca_file_.empty()) {
    // Pinned: libcurl's default CA directory (/etc/ssl/certs on Debian) would otherwise still be
    // searched, and any CA the system trusts could vouch for the collector.
    curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file_.c_str());
    curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
  }
  if (!body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist* raw = nullptr;
  const std::string authorization = "Authorization: Bearer " + token_;
  for (const std::string& header : {std::string("Content-Type: application/json"),
                                    std::string("Accept: application/json"), authorization}) {
    curl_slist* grown = curl_slist_append(raw, header.c_str());
    if (grown == nullptr) {
      curl_slist_free_all(raw);
      throw ClientError("out of memory");
    }
    raw = grown;
  }
  HeaderList headers(raw, &curl_slist_free_all);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());

  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    throw ClientError(fmt::format("cannot reach the collector at {}: {}", url_,
                                  error[0] != '\0' ? error : curl_easy_strerror(code)));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

std::string describe_failure(const std::string& url, const ApiReply& reply) {
  const auto body = nlohmann::json::parse(reply.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    return fmt::format("collector at {} answered {}: {}", url, reply.status,
                       body["error"].get<std::string>());
  }
  return fmt::format("collector at {} answered {}", url, reply.status);
}

}  // namespace vantage
