#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "body_pattern.hh"
#include "endpoint.hh"
#include "probe.hh"

namespace vantage {

class CurlMulti;

struct HttpsRequest {
  std::string domain;  // SNI, Host and the name the certificate must match
  Endpoint address;    // pinned: no name resolution happens in this probe
  std::string path = "/";
  std::vector<int> expect_status;  // empty = any 2xx or 3xx
  BodyPattern body_regex;          // empty = no content check
  std::string ca_file;             // empty = the system store; else the only CA trusted
  bool insecure = false;
  std::chrono::milliseconds timeout{5000};
};

// One HTTPS request over a fresh connection, classified by CURLcode, the OS errno, the X.509
// verification result and the HTTP status.
void probe_https(CurlMulti& multi, const HttpsRequest& request, ProbeDone done);

}  // namespace vantage
