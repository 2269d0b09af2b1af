#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "support/process.hh"

namespace vantage::testing {

struct NsdZone {
  std::string name;                // "social.test."
  std::filesystem::path zonefile;  // a missing file leaves the zone configured but unloaded
};

struct NsdConfig {
  std::filesystem::path dir;  // the config, pid file, zone list, xfrd state and logs go here
  std::vector<std::string> addresses;  // IP literals to listen on
  uint16_t port = 53;
  std::vector<NsdZone> zones;  // none: NSD answers REFUSED for everything
};

// nsd.conf for an NSD that runs as the calling user (no privilege drop, no chroot, no database)
// and keeps every file it writes inside `dir`.
std::string nsd_config_text(const NsdConfig& config);

// Writes `dir/nsd.conf`, starts `nsd -d` and returns once every address answers a DNS query (with
// any rcode: a zone that failed to load answers SERVFAIL, a missing one REFUSED). Throws
// std::runtime_error, quoting NSD's log, if it dies or does not answer within the wait budget.
ChildProcess start_nsd(const NsdConfig& config, std::string_view name = "nsd");

}  // namespace vantage::testing
