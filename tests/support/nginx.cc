#include "support/nginx.hh"

#include <algorithm>
#include <stdexcept>

#include "support/net.hh"

namespace vantage::testing {
namespace {

std::string listen_address(const std::string& address) {
  return address.find(':') == std::string::npos ? address : "[" + address + "]";
}

}  // namespace

std::string nginx_config_text(const NginxConfig& config) {
  const auto& dir = config.dir;
  const std::string port = std::to_string(config.port);
  std::string text;
  text += "daemon off;\n";
  // One process: PR_SET_PDEATHSIG then covers all of nginx, and `user` (which would make
  // workers drop to nobody and lose access to the root-owned key) does not apply.
  text += "master_process off;\n";
  text += "worker_processes 1;\n";
  text += "pid " + (dir / "nginx.pid").string() + ";\n";
  text += "lock_file " + (dir / "nginx.lock").string() + ";\n";
  text += "error_log " + (dir / "error.log").string() + " info;\n";
  text += "events { worker_connections 64; }\n";
  text += "http {\n";
  text += "  access_log " + (dir / "access.log").string() + ";\n";
  for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    text += std::string("  ") + kind + "_temp_path " + (dir / kind).string() + ";\n";
  }
  // One server block per address, so that an address of `certificate_at` serves its own.
  std::vector<NginxConfig::AddressCertificate> blocks;
  for (const auto& address : config.addresses) {
    const auto own = std::find_if(config.certificate_at.begin(), config.certificate_at.end(),
                                  [&](const auto& at) { return at.address == address; });
    blocks.push_back(
        own != config.certificate_at.end()
            ? *own
            : NginxConfig::AddressCertificate{address, config.certificate, config.key});
  }
  for (const auto& block : blocks) {
    text += "  server {\n";
    text += "    listen " + listen_address(block.address) + ":" + port + " ssl;\n";
    if (config.plain_port != 0) {
      text += "    listen " + listen_address(block.address) + ":" +
              std::to_string(config.plain_port) + ";\n";
    }
    text += "    server_name " + config.server_name + ";\n";
    text += "    ssl_certificate " + block.certificate.string() + ";\n";
    text += "    ssl_certificate_key " + block.key.string() + ";\n";
    text += "    location / {\n";
    text += "      default_type text/plain;\n";
    if (config.body_file.empty()) {
      text += "      return " + std::to_string(config.status) + " \"" + config.body + "\";\n";
    } else {
      text += "      root " + config.body_file.parent_path().string() + ";\n";
      text += "      try_files /" + config.body_file.filename().string() + " =404;\n";
    }
    text += "    }\n";
    text += "  }\n";
  }
  text += "}\n";
  return text;
}

ChildProcess start_nginx(const NginxConfig& config, std::string_view name) {
  static const auto nginx = find_program("nginx");
  if (!nginx)
    throw std::runtime_error("nginx is not installed");
  std::filesystem::create_directories(config.dir);
  const auto conf = config.dir / "nginx.conf";
  write_text(conf, nginx_config_text(config));
  // -e: the error log from the very first line, before nginx has read its config (Debian's
  // compiled-in default is stderr, which is fine, but an explicit path keeps one place to look).
  ChildProcess process(std::string(name),
                       {nginx->string(), "-p", config.dir.string(), "-c", conf.string(), "-e",
                        (config.dir / "error.log").string()},
                       config.dir / "error.log");
  for (const auto& address : config.addresses) {
    bool ready = wait_until([&] {
      process.expect_running();
      return tcp_accepts(address, config.port, std::chrono::milliseconds(100));
    });
    if (!ready) {
      throw std::runtime_error(process.name() + " does not accept on " + address +
                               "; its error log ends:\n" + process.log_tail());
    }
  }
  return process;
}

}  // namespace vantage::testing
