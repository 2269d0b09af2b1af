#include "routed_prefix.hh"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

#include "endpoint.hh"

namespace vantage {
namespace {

constexpr int kRoutedV4 = 24;
constexpr int kRoutedV6 = 48;

// Parses an IP literal into family and bytes; false for anything else.
bool parse_ip(std::string_view text, int& family, unsigned char (&bytes)[16]) {
  const std::string copy(text);
  std::memset(bytes, 0, sizeof bytes);
  if (inet_pton(AF_INET, copy.c_str(), bytes) == 1) {
    family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, copy.c_str(), bytes) == 1) {
    family = AF_INET6;
    return true;
  }
  return false;
}

void mask(unsigned char (&bytes)[16], int length) {
  for (int bit = length; bit < 128; ++bit) {
    bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  }
}

}  // namespace

std::optional<RoutedPrefix> RoutedPrefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  RoutedPrefix prefix;
  if (!parse_ip(text.substr(0, slash), prefix.family_, prefix.bytes_)) {
    return std::nullopt;
  }
  const auto digits = text.substr(slash + 1);
  const auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), prefix.length_);
  const int longest = prefix.family_ == AF_INET ? 32 : 128;
  if (error != std::errc() || end != digits.data() + digits.size() || prefix.length_ < 0 ||
      prefix.length_ > longest) {
    return std::nullopt;
  }
  mask(prefix.bytes_, prefix.length_);
  return prefix;
}

std::optional<RoutedPrefix> RoutedPrefix::covering(std::string_view address) {
  RoutedPrefix prefix;
  if (!parse_ip(address_of(address), prefix.family_, prefix.bytes_)) {
    return std::nullopt;
  }
  prefix.length_ = prefix.family_ == AF_INET ? kRoutedV4 : kRoutedV6;
  mask(prefix.bytes_, prefix.length_);
  return prefix;
}

bool RoutedPrefix::contains(std::string_view address) const {
  int family = 0;
  unsigned char bytes[16];
  if (!parse_ip(address_of(address), family, bytes) || family != family_) {
    return false;
  }
  mask(bytes, length_);
  return std::memcmp(bytes, bytes_, sizeof bytes) == 0;
}

std::string RoutedPrefix::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family_, bytes_, text, sizeof text);
  return fmt::format("{}/{}", text, length_);
}

std::string address_of(std::string_view target) {
  if (const auto endpoint = parse_endpoint(target, 0)) {
    return endpoint->ip();
  }
  return std::string(target);
}

}  // namespace vantage
