#pragma once

#include <chrono>
#include <string>

#include "endpoint.hh"
#include "probe.hh"

namespace vantage {

class EventLoop;

// ares_library_init for the process lifetime of the engine.
class AresLibrary {
 public:
  AresLibrary();
  ~AresLibrary();
  AresLibrary(const AresLibrary&) = delete;
  AresLibrary& operator=(const AresLibrary&) = delete;
};

struct DnsQuery {
  std::string name;
  uint16_t type = 1;
  bool recursion_desired = true;  // false for questions put straight to an authoritative server
  Endpoint server;
  std::chrono::milliseconds timeout{5000};
};

// Sends one query to one server through c-ares on the loop and reports what came back: the
// parsed response with its rcode (classified) or the socket errno / c-ares status when none did.
// The caller refines the class for its own check (lame delegation, for example).
void dns_exchange(EventLoop& loop, const DnsQuery& query, Check check, ProbeDone done);

// The recursive resolvers of the system's resolv.conf, as c-ares reads them.
std::vector<Endpoint> system_resolvers();

}  // namespace vantage
