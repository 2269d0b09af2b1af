#pragma once

#include <cstdint>

namespace vantage {

// DNS wire integers are big-endian (RFC 1035 section 2.3.2). The caller has checked that the
// bytes are there.
inline uint16_t read16(const unsigned char* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t read32(const unsigned char* p) {
  return (static_cast<uint32_t>(read16(p)) << 16) | read16(p + 2);
}

}  // namespace vantage
