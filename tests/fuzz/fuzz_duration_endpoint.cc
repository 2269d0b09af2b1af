// The two value parsers every config and the probe command line go through: durations ("30s")
// and endpoints ("192.0.2.1:53", "[2001:db8::1]:53").
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "duration.hh"
#include "endpoint.hh"

namespace {

bool address_character(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
         c == ':' || c == '[' || c == ']';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto duration = vantage::parse_duration(text)) {
    // Accepted: at most a week, and the same value when written back in milliseconds.
    if (duration->count() < 0 || duration->count() > 7LL * 24 * 3600 * 1000 ||
        vantage::parse_duration(std::to_string(duration->count()) + "ms") != duration) {
      __builtin_trap();
    }
  }

  for (const uint16_t default_port : {uint16_t{0}, uint16_t{53}}) {
    const auto endpoint = vantage::parse_endpoint(text, default_port);
    if (!endpoint) {
      continue;
    }
    // Accepted text is a literal address and nothing else (no name, no NUL and what follows it),
    // and reads back as the same endpoint.
    for (const char c : text) {
      if (!address_character(c)) {
        __builtin_trap();
      }
    }
    // Port 0 (none given, no default) is not writable back: parse_endpoint refuses ":0".
    if (endpoint->port() == 0) {
      continue;
    }
    const auto again = vantage::parse_endpoint(endpoint->to_string(), 1);
    if (!again || !(*again == *endpoint)) {
      __builtin_trap();
    }
  }
  return 0;
}
