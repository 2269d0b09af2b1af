#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "body_pattern.hh"
#include "endpoint.hh"
#include "probe.hh"

namespace vantage {

class CurlMulti;

struct HttpRequest {
  bool tls = true;     // false: plain HTTP (an http target), reported as Check::Http
  std::string domain;  // SNI, Host and the name the certificate must match
  Endpoint address;    // pinned: no name resolution happens in this probe
  std::string path = "/";
  std::vector<int> expect_status;  // empty = any 2xx or 3xx
  BodyPattern body_regex;          // empty = no content check
  std::string ca_file;             // empty = the system store; else the only CA trusted
  bool insecure = false;
  std::chrono::milliseconds timeout{5000};
};

// One HTTPS (or plain HTTP) request over a fresh connection, classified by CURLcode, the OS
// errno, the X.509 verification result and the HTTP status.
void probe_http(CurlMulti& multi, const HttpRequest& request, ProbeDone done);

}  // namespace vantage
