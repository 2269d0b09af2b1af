#include "topology.hh"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <regex>
#include <stdexcept>

#include "support/process.hh"

namespace vantage::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kPrefix = "vtr-";
constexpr std::chrono::seconds kCommandTimeout{10};

NetworkTopology* current = nullptr;

std::string joined(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) {
    text += (text.empty() ? "" : " ") + arg;
  }
  return text;
}

// Namespaces a killed earlier run left behind: vtr-<pid>-* whose process is gone.
void delete_stale(const std::string& ip) {
  DIR* directory = opendir("/run/netns");
  if (directory == nullptr) {
    return;
  }
  std::vector<std::string> stale;
  static const std::regex kName("vtr-([0-9]+)-[a-z0-9]+");
  while (const dirent* entry = readdir(directory)) {
    std::cmatch match;
    if (std::regex_match(entry->d_name, match, kName)) {
      const pid_t pid = static_cast<pid_t>(std::stol(match[1].str()));
      if (kill(pid, 0) != 0 && errno == ESRCH) {
        stale.emplace_back(entry->d_name);
      }
    }
  }
  closedir(directory);
  for (const auto& name : stale) {
    run_command({ip, "netns", "del", name}, kCommandTimeout);
  }
}

}  // namespace

NetworkTopology& topology() {
  if (current == nullptr) {
    throw std::logic_error("no network topology: main() builds it before the tests run");
  }
  return *current;
}

void set_topology(NetworkTopology* topology) {
  current = topology;
}

std::unique_ptr<NetworkTopology> NetworkTopology::build(std::string& error, bool& can_run) {
  can_run = false;
  const auto ip = find_program("ip");
  if (!ip) {
    error = "the ip command (iproute2) is not installed";
    return nullptr;
  }
  std::unique_ptr<NetworkTopology> built(new NetworkTopology);
  built->ip_ = ip->string();
  delete_stale(built->ip_);
  const std::string base = std::string(kPrefix) + std::to_string(getpid()) + "-";
  built->names_ = {base + "client", base + "r1", base + "r2", base + "dst"};
  error = built->setup();
  // Once one namespace exists, the machine can run this test: a later step that fails is a bug.
  can_run = !built->created_.empty();
  if (!error.empty()) {
    return nullptr;  // the destructor deletes whatever was created
  }
  return built;
}

std::string NetworkTopology::setup() {
  const std::string& client = names_[0];
  const std::string& r1 = names_[1];
  const std::string& r2 = names_[2];
  const std::string& dst = names_[3];
  const auto sysctl = find_program("sysctl");
  if (!sysctl) {
    return "sysctl (procps) is not installed";
  }
  const std::vector<std::vector<std::string>> steps = {
      // Links: named after the neighbour they lead to.
      {"link", "add", "to-r1", "netns", client, "type", "veth", "peer", "name", "to-c", "netns",
       r1},
      {"link", "add", "to-r2", "netns", r1, "type", "veth", "peer", "name", "to-r1", "netns", r2},
      {"link", "add", "to-d", "netns", r2, "type", "veth", "peer", "name", "to-r2", "netns", dst},
      // Addresses; nodad, because duplicate address detection would keep them unusable for a
      // second, and nobody else is on these links.
      {"-n", client, "addr", "add", "192.0.2.1/24", "dev", "to-r1"},
      {"-n", client, "addr", "add", "2001:db8:1::1/64", "dev", "to-r1", "nodad"},
      {"-n", client, "addr", "add", "192.0.2.11/24", "dev", "to-r1"},
      {"-n", client, "addr", "add", "192.0.2.12/24", "dev", "to-r1"},
      {"-n", client, "addr", "add", "192.0.2.13/24", "dev", "to-r1"},
      {"-n", client, "addr", "add", "192.0.2.14/24", "dev", "to-r1"},
      {"-n", r1, "addr", "add", "192.0.2.254/24", "dev", "to-c"},
      {"-n", r1, "addr", "add", "2001:db8:1::fe/64", "dev", "to-c", "nodad"},
      {"-n", r1, "addr", "add", "198.51.100.1/30", "dev", "to-r2"},
      {"-n", r1, "addr", "add", "2001:db8:12::1/64", "dev", "to-r2", "nodad"},
      {"-n", r2, "addr", "add", "198.51.100.2/30", "dev", "to-r1"},
      {"-n", r2, "addr", "add", "2001:db8:12::2/64", "dev", "to-r1", "nodad"},
      {"-n", r2, "addr", "add", "203.0.113.1/24", "dev", "to-d"},
      {"-n", r2, "addr", "add", "2001:db8:500::1/64", "dev", "to-d", "nodad"},
      {"-n", dst, "addr", "add", "203.0.113.80/24", "dev", "to-r2"},
      {"-n", dst, "addr", "add", "203.0.113.53/24", "dev", "to-r2"},
      {"-n", dst, "addr", "add", "2001:db8:500::80/64", "dev", "to-r2", "nodad"},
      {"-n", dst, "addr", "add", "2001:db8:500::53/64", "dev", "to-r2", "nodad"},
      {"-n", client, "link", "set", "lo", "up"},
      {"-n", client, "link", "set", "to-r1", "up"},
      {"-n", r1, "link", "set", "lo", "up"},
      {"-n", r1, "link", "set", "to-c", "up"},
      {"-n", r1, "link", "set", "to-r2", "up"},
      {"-n", r2, "link", "set", "lo", "up"},
      {"-n", r2, "link", "set", "to-r1", "up"},
      {"-n", r2, "link", "set", "to-d", "up"},
      {"-n", dst, "link", "set", "lo", "up"},
      {"-n", dst, "link", "set", "to-r2", "up"},
      // Routes: no defaults on the client and router1, so that some documentation addresses
      // have no route (see topology.hh).
      {"-n", client, "route", "add", "198.51.100.0/24", "via", "192.0.2.254"},
      {"-n", client, "route", "add", "203.0.113.0/24", "via", "192.0.2.254"},
      // One source address of its own for each case that needs router1's unreachable (see
      // topology.hh: Linux rate-limits those per source).
      {"-n", client, "route", "add", "203.0.113.61/32", "via", "192.0.2.254", "src", "192.0.2.11"},
      {"-n", client, "route", "add", "203.0.113.62/32", "via", "192.0.2.254", "src", "192.0.2.12"},
      {"-n", client, "route", "add", "203.0.113.63/32", "via", "192.0.2.254", "src", "192.0.2.13"},
      {"-n", client, "route", "add", "198.51.100.200/32", "via", "192.0.2.254", "src",
       "192.0.2.14"},
      {"-n", client, "-6", "route", "add", "2001:db8:12::/64", "via", "2001:db8:1::fe"},
      {"-n", client, "-6", "route", "add", "2001:db8:500::/48", "via", "2001:db8:1::fe"},
      {"-n", r1, "route", "add", "203.0.113.0/24", "via", "198.51.100.2"},
      {"-n", r1, "route", "add", "unreachable", "203.0.113.60/30"},
      {"-n", r1, "-6", "route", "add", "2001:db8:500::/48", "via", "2001:db8:12::2"},
      {"-n", r2, "route", "add", "192.0.2.0/24", "via", "198.51.100.1", "src", "203.0.113.1"},
      {"-n", r2, "-6", "route", "add", "2001:db8:1::/48", "via", "2001:db8:12::1", "src",
       "2001:db8:500::1"},
      {"-n", dst, "route", "add", "default", "via", "203.0.113.1"},
      {"-n", dst, "-6", "route", "add", "default", "via", "2001:db8:500::1"},
  };
  for (const auto& name : names_) {
    const auto result = run_command({ip_, "netns", "add", name}, kCommandTimeout);
    if (result.exit_code != 0) {
      return "ip netns add " + name + " failed (needs root / CAP_SYS_ADMIN): " + result.err;
    }
    created_.push_back(name);
    // Before any link exists, so that the veths inherit it: no DAD on their link-local
    // addresses either.
    const auto quiet =
        run_command({ip_, "netns", "exec", name, sysctl->string(), "-qw",
                     "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"},
                    kCommandTimeout);
    if (quiet.exit_code != 0) {
      return "sysctl in " + name + " failed: " + quiet.err;
    }
  }
  for (const auto& step : steps) {
    std::vector<std::string> argv = {ip_};
    argv.insert(argv.end(), step.begin(), step.end());
    const auto result = run_command(argv, kCommandTimeout);
    if (result.exit_code != 0) {
      return joined(argv) + " failed: " + result.err;
    }
  }
  for (const auto& name : {r1, r2}) {
    const auto result = run_command({ip_, "netns", "exec", name, sysctl->string(), "-qw",
                                     "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"},
                                    kCommandTimeout);
    if (result.exit_code != 0) {
      return "cannot turn forwarding on in " + name + ": " + result.err;
    }
  }
  for (const auto& name : {r1, r2, dst}) {
    const auto result = run_command({ip_, "netns", "exec", name, sysctl->string(), "-qw",
                                     "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0"},
                                    kCommandTimeout);
    if (result.exit_code != 0) {
      return "cannot turn the ICMP rate limit off in " + name + ": " + result.err;
    }
    // The global ICMP budget is per namespace on recent kernels only; best effort.
    run_command({ip_, "netns", "exec", name, sysctl->string(), "-qw",
                 "net.ipv4.icmp_msgs_per_sec=100000", "net.ipv4.icmp_msgs_burst=100000"},
                kCommandTimeout);
  }

  original_netns_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const std::string client_path = "/run/netns/" + client;
  const int client_fd = open(client_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (original_netns_ < 0 || client_fd < 0 || setns(client_fd, CLONE_NEWNET) != 0) {
    const std::string why = std::strerror(errno);
    if (client_fd >= 0) {
      close(client_fd);
    }
    return "cannot enter " + client + ": " + why;
  }
  close(client_fd);
  return "";
}

NetworkTopology::~NetworkTopology() {
  if (original_netns_ >= 0) {
    setns(original_netns_, CLONE_NEWNET);
    close(original_netns_);
  }
  for (const auto& name : created_) {
    run_command({ip_, "netns", "del", name}, kCommandTimeout);
  }
}

const std::string& NetworkTopology::name(Role role) const {
  return names_.at(static_cast<size_t>(role));
}

std::string NetworkTopology::output(Role role, const std::vector<std::string>& argv) const {
  std::vector<std::string> full = {ip_, "netns", "exec", name(role)};
  const auto program = find_program(argv.at(0));
  full.push_back(program ? program->string() : argv.at(0));
  full.insert(full.end(), argv.begin() + 1, argv.end());
  const auto result = run_command(full, kCommandTimeout);
  if (result.exit_code != 0) {
    throw std::runtime_error(joined(full) + " failed (" + std::to_string(result.exit_code) +
                             "): " + result.err);
  }
  return result.out;
}

void NetworkTopology::exec(Role role, const std::vector<std::string>& argv) const {
  output(role, argv);
}

ScopedChange::ScopedChange(NetworkTopology::Role role, std::vector<std::string> apply,
                           std::vector<std::string> revert)
    : role_(role), revert_(std::move(revert)) {
  topology().exec(role_, apply);
}

ScopedChange::~ScopedChange() {
  try {
    topology().exec(role_, revert_);
  } catch (const std::exception&) {
    // The namespace is deleted at the end of the run; a failed revert cannot outlive it.
  }
}

ScopedFirewall::ScopedFirewall(NetworkTopology::Role role, const std::vector<std::string>& rules)
    : role_(role) {
  std::string script =
      "add table inet vtr; add chain inet vtr input { type filter hook input priority 0 ; "
      "policy accept ; }";
  for (const auto& rule : rules) {
    script += "; add rule inet vtr input " + rule;
  }
  topology().exec(role_, {"nft", script});
}

ScopedFirewall::~ScopedFirewall() {
  try {
    topology().exec(role_, {"nft", "delete table inet vtr"});
  } catch (const std::exception&) {
    // As above: the namespace goes at the end of the run.
  }
}

long ScopedFirewall::counted_packets() const {
  const std::string listing = topology().output(role_, {"nft", "list table inet vtr"});
  static const std::regex kCounter("counter packets ([0-9]+)");
  long total = 0;
  for (auto it = std::sregex_iterator(listing.begin(), listing.end(), kCounter);
       it != std::sregex_iterator(); ++it) {
    total += std::stol((*it)[1].str());
  }
  return total;
}

WithoutNetRaw::WithoutNetRaw() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) {
    throw std::runtime_error(std::string("capget: ") + std::strerror(errno));
  }
  saved_ = data[0].effective;
  data[0].effective &= ~(1U << CAP_NET_RAW);
  if (syscall(SYS_capset, &header, data) != 0) {
    throw std::runtime_error(std::string("capset: ") + std::strerror(errno));
  }
}

WithoutNetRaw::~WithoutNetRaw() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) == 0) {
    data[0].effective = saved_;
    syscall(SYS_capset, &header, data);
  }
}

}  // namespace vantage::testing
