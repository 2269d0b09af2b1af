#pragma once

#include <stdexcept>
#include <string>

namespace vantage {

// The collector could not be asked at all (refused, timed out, TLS failed): no HTTP status.
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ApiReply {
  long status = 0;
  std::string body;
};

// A blocking client of the collector's API for the CLI: one libcurl easy handle per request.
class ApiClient {
 public:
  // `url` like "https://collector.example:8470" (a trailing / is dropped); `ca_file` empty = the
  // system's trust store.
  ApiClient(std::string url, std::string token, std::string ca_file);

  // Sends one request; throws ClientError if no HTTP answer came back.
  ApiReply request(const std::string& method, const std::string& path,
                   const std::string& body = "") const;
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  std::string token_;
  std::string ca_file_;
};

// "collector at URL answered 401: unknown token": the {"error": ...} of a reply, or its status.
std::string describe_failure(const std::string& url, const ApiReply& reply);

}  // namespace vantage
