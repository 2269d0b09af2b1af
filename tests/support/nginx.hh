#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "support/process.hh"

namespace vantage::testing {

struct NginxConfig {
  std::filesystem::path dir;           // the config, pid, logs and temp paths go here
  std::vector<std::string> addresses;  // IP literals to listen on with TLS
  uint16_t port = 443;
  uint16_t plain_port = 0;  // when set, the same server also answers plain HTTP on this port
  std::string server_name;
  std::filesystem::path certificate;  // PEM: the leaf, then any chain
  std::filesystem::path key;
  // Addresses that serve another certificate than the rest: one node of a fleet not renewed.
  struct AddressCertificate {
    std::string address;
    std::filesystem::path certificate, key;
  };
  std::vector<AddressCertificate> certificate_at;
  int status = 200;  // what `location /` answers
  std::string body = "hello\n";
  // When set, `location /` serves this file (200, text/plain) instead: a body of any size, where
  // `body` is bounded by nginx's 4 KB limit on one config token.
  std::filesystem::path body_file;
};

// nginx.conf for a single foreground nginx process (no master, so no workers to orphan and no
// privilege drop) that keeps every file it writes inside `dir` and answers every request with
// `status` and `body`.
std::string nginx_config_text(const NginxConfig& config);

// Writes the config, starts nginx and returns once every address accepts TCP connections.
// Throws std::runtime_error, quoting nginx's error log, if it dies or does not listen.
ChildProcess start_nginx(const NginxConfig& config, std::string_view name = "nginx");

}  // namespace vantage::testing
