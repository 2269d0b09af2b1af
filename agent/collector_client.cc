#include "collector_client.hh"

#include <curl/curl.h>
#include <fmt/format.h>

#include <strings.h>

#include <cstring>
#include <memory>

#include "curl_driver.hh"

namespace vantage {
namespace {

constexpr long kRequestTimeoutMs = 30'000;

struct Transfer {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy{curl_easy_init(), &curl_easy_cleanup};
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers{nullptr,
                                                                      &curl_slist_free_all};
  std::string url;
  std::string body;
  HttpReply reply;

  // CURLOPT_WRITEFUNCTION
  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    static_cast<Transfer*>(self)->reply.body.append(data, size * count);
    return size * count;
  }

  // CURLOPT_HEADERFUNCTION: keeps the ETag for the next conditional GET.
  static size_t on_header(char* data, size_t size, size_t count, void* self) {
    const std::string_view line(data, size * count);
    constexpr std::string_view kName = "etag:";
    if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
      std::string value(line.substr(kName.size()));
      const auto first = value.find_first_not_of(" \t");
      const auto last = value.find_last_not_of(" \t\r\n");
      static_cast<Transfer*>(self)->reply.etag =
          first == std::string::npos ? "" : value.substr(first, last - first + 1);
    }
    return size * count;
  }
};

void add_header(Transfer& transfer, const std::string& header) {
  transfer.headers.reset(curl_slist_append(transfer.headers.release(), header.c_str()));
}

}  // namespace

CollectorClient::CollectorClient(CurlMulti& multi, std::string base_url, std::string token,
                                 std::string ca_file)
    : multi_(multi),
      base_url_(std::move(base_url)),
      token_(std::move(token)),
      ca_file_(std::move(ca_file)) {}

void CollectorClient::reconfigure(std::string base_url, std::string token, std::string ca_file) {
  base_url_ = std::move(base_url);
  token_ = std::move(token);
  ca_file_ = std::move(ca_file);
}

void CollectorClient::request(const std::string& method, const std::string& path, std::string body,
                              const std::string& if_none_match, std::function<void(HttpReply)> done,
                              BodyEncoding encoding) {
  auto transfer = std::make_shared<Transfer>();
  CURL* easy = transfer->easy.get();
  if (easy == nullptr) {
    multi_.loop().post([done = std::move(done)] { done(HttpReply{CURLE_FAILED_INIT, 0, {}, {}}); });
    return;
  }
  transfer->url = base_url_ + path;
  transfer->body = std::move(body);
  add_header(*transfer, "Authorization: Bearer " + token_);
  add_header(*transfer, "Content-Type: application/json");
  if (encoding == BodyEncoding::Gzip) {
    add_header(*transfer, "Content-Encoding: gzip");
  }
  add_header(*transfer, "Expect:");  // no 100-continue round trip for every batch
  if (!if_none_match.empty()) {
    add_header(*transfer, "If-None-Match: " + if_none_match);
  }
  curl_easy_setopt(easy, CURLOPT_URL, transfer->url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers.get());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, kRequestTimeoutMs);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "vantage-agent/" VANTAGE_VERSION);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
  if (!ca_file_.empty()) {
    // Pinned: libcurl's default CA directory (/etc/ssl/certs on Debian) would otherwise still be
    // searched, and any CA the system trusts could vouch for the collector.
    curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file_.c_str());
    curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
  }
  if (method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, transfer->body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(transfer->body.size()));
  } else if (method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  multi_.add(easy, [transfer, done = std::move(done)](CURLcode code) {
    transfer->reply.curl_code = code;
    curl_easy_getinfo(transfer->easy.get(), CURLINFO_RESPONSE_CODE, &transfer->reply.status);
    long os_errno = 0;
    curl_easy_getinfo(transfer->easy.get(), CURLINFO_OS_ERRNO, &os_errno);
    transfer->reply.os_errno = static_cast<int>(os_errno);
    done(std::move(transfer->reply));
  });
}

std::string transfer_failure(const HttpReply& reply) {
  if (reply.curl_code == 0) {
    return "";
  }
  if (reply.os_errno != 0) {
    return std::strerror(reply.os_errno);
  }
  return curl_easy_strerror(static_cast<CURLcode>(reply.curl_code));
}

}  // namespace vantage
