#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace vantage {

class CurlMulti;

struct HttpReply {
  int curl_code = 0;  // CURLcode; non-zero = no HTTP answer at all
  long status = 0;
  std::string body;
  std::string etag;
  int os_errno = 0;  // CURLINFO_OS_ERRNO of a failed connect: refused, unreachable, ...
};

// Why no HTTP answer came, in words for a log line: the system's for the connect error when there
// was one ("Connection refused"), else libcurl's ("Timeout was reached"). "" for a reply.
std::string transfer_failure(const HttpReply& reply);

// How the body of a request is encoded (its Content-Encoding).
enum class BodyEncoding { Identity, Gzip };

// The agent's side of the collector API, asynchronous on the engine's curl multi handle so that
// an unreachable collector never holds up a probe.
class CollectorClient {
 public:
  CollectorClient(CurlMulti& multi, std::string base_url, std::string token, std::string ca_file);

  // Where later requests go, and with what token (a reload); one in flight finishes as it began.
  void reconfigure(std::string base_url, std::string token, std::string ca_file);

  // `path` is appended to the base URL ("/api/v1/results"). An empty `body` with method GET;
  // `encoding` says what the caller did to `body` (a gzipped one is sent as it is).
  void request(const std::string& method, const std::string& path, std::string body,
               const std::string& if_none_match, std::function<void(HttpReply)> done,
               BodyEncoding encoding = BodyEncoding::Identity);

 private:
  CurlMulti& multi_;
  std::string base_url_;
  std::string token_;
  std::string ca_file_;
};

}  // namespace vantage
