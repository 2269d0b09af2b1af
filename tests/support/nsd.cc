#include "support/nsd.hh"

#include <stdexcept>

#include "support/net.hh"

namespace vantage::testing {
namespace {

std::string quoted(const std::filesystem::path& path) {
  return "\"" + path.string() + "\"";
}

}  // namespace

std::string nsd_config_text(const NsdConfig& config) {
  const auto& dir = config.dir;
  std::string text = "server:\n";
  text += "  username: \"\"\n";  // stay root: the files below are root's
  text += "  chroot: \"\"\n";
  text += "  database: \"\"\n";  // serve straight from the zone files
  text += "  zonesdir: " + quoted(dir) + "\n";
  text += "  pidfile: " + quoted(dir / "nsd.pid") + "\n";
  text += "  zonelistfile: " + quoted(dir / "zone.list") + "\n";
  text += "  xfrdfile: " + quoted(dir / "xfrd.state") + "\n";
  text += "  xfrdir: " + quoted(dir) + "\n";
  text += "  logfile: " + quoted(dir / "nsd.log") + "\n";
  text += "  port: " + std::to_string(config.port) + "\n";
  for (const auto& address : config.addresses)
    text += "  ip-address: " + address + "\n";
  text += "  do-ip4: yes\n";
  text += "  do-ip6: yes\n";
  text += "  server-count: 1\n";
  text += "  tcp-count: 16\n";
  text += "  verbosity: 2\n";
  text += "remote-control:\n";
  text += "  control-enable: no\n";
  for (const auto& zone : config.zones) {
    text += "zone:\n";
    text += "  name: \"" + zone.name + "\"\n";
    text += "  zonefile: " + quoted(zone.zonefile) + "\n";
  }
  return text;
}

ChildProcess start_nsd(const NsdConfig& config, std::string_view name) {
  static const auto nsd = find_program("nsd");
  if (!nsd)
    throw std::runtime_error("nsd is not installed");
  std::filesystem::create_directories(config.dir);
  const auto conf = config.dir / "nsd.conf";
  write_text(conf, nsd_config_text(config));
  ChildProcess process(std::string(name), {nsd->string(), "-d", "-c", conf.string()},
                       // NSD's own log file too (it opens it for append), so
                       // there is one file to quote.
                       config.dir / "nsd.log");
  const std::string qname = config.zones.empty() ? "." : config.zones.front().name;
  for (const auto& address : config.addresses) {
    bool ready = wait_until([&] {
      process.expect_running();
      return query_dns(address, config.port, qname, 6 /* SOA */, false,
                       std::chrono::milliseconds(100))
          .has_value();
    });
    if (!ready) {
      throw std::runtime_error(process.name() + " does not answer on " + address +
                               "; its log ends:\n" + process.log_tail());
    }
  }
  return process;
}

}  // namespace vantage::testing
