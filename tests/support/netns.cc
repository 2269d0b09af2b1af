#include "support/netns.hh"

#include <net/if.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "support/process.hh"

namespace vantage::testing {
namespace {

bool is_ipv6(const std::string& address) {
  return address.find(':') != std::string::npos;
}

// True only for a documentation range (RFC 5737, RFC 3849) or loopback: the lab must
// never claim an address someone else owns, even inside its own namespace.
bool is_documentation_address(const std::string& address) {
  for (const char* prefix : {"192.0.2.", "198.51.100.", "203.0.113.", "2001:db8:", "127."}) {
    if (address.rfind(prefix, 0) == 0)
      return true;
  }
  return address == "::1";
}

std::string run_ip(const std::filesystem::path& ip, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ip.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult result = run_command(argv, std::chrono::seconds(10));
  if (result.exit_code == 0)
    return "";
  std::string command;
  for (const auto& arg : argv)
    command += arg + " ";
  return command + "failed (" + std::to_string(result.exit_code) + "): " + result.err;
}

}  // namespace

std::string enter_private_network(const std::vector<std::string>& addresses) {
  std::optional<std::filesystem::path> ip = find_program("ip");
  if (!ip)
    return "the ip command (iproute2) is not installed";
  for (const auto& address : addresses) {
    if (!is_documentation_address(address)) {
      return "refusing to configure " + address + ": not a documentation or loopback address";
    }
  }
  if (unshare(CLONE_NEWNET) != 0) {
    return std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno) +
           " (needs root / CAP_SYS_ADMIN)";
  }
  // A fresh namespace has exactly one interface, lo. Anything else would mean we are not where
  // we think we are, and traffic could leave the machine: refuse.
  if (struct if_nameindex* interfaces = if_nameindex()) {
    std::string strangers;
    for (auto* it = interfaces; it->if_index != 0; ++it) {
      if (std::strcmp(it->if_name, "lo") != 0)
        strangers += std::string(" ") + it->if_name;
    }
    if_freenameindex(interfaces);
    if (!strangers.empty())
      return "new network namespace has unexpected interfaces:" + strangers;
  }
  if (auto error = run_ip(*ip, {"link", "set", "lo", "up"}); !error.empty())
    return error;
  for (const auto& address : addresses) {
    if (address == "127.0.0.1" || address == "::1")
      continue;  // lo has them once up
    // nodad: duplicate address detection would keep the address tentative (unbindable) for a
    // second or more, and there is nobody on lo to collide with.
    std::vector<std::string> args =
        is_ipv6(address)
            ? std::vector<std::string>{"-6", "addr", "add", address + "/128", "dev", "lo", "nodad"}
            : std::vector<std::string>{"addr", "add", address + "/32", "dev", "lo"};
    if (auto error = run_ip(*ip, args); !error.empty())
      return error;
  }
  return "";
}

bool lab_required() {
  const char* value = std::getenv("VANTAGE_REQUIRE_LAB");
  return value != nullptr && std::string_view(value) == "1";
}

int lab_unavailable(std::string_view reason) {
  if (lab_required()) {
    std::printf("FAILED: %.*s (VANTAGE_REQUIRE_LAB=1, so this is a failure, not a skip)\n",
                static_cast<int>(reason.size()), reason.data());
    std::fflush(stdout);
    return 1;
  }
  std::printf("SKIPPED: %.*s\n", static_cast<int>(reason.size()), reason.data());
  std::fflush(stdout);
  return kSkipExitCode;
}

}  // namespace vantage::testing
