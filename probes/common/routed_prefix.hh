#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vantage {

// A network as BGP carries it. Nothing longer than a /24 (IPv4) or a /48 (IPv6) is routed across
// the Internet, so two addresses in one such prefix share their fate in routing: an answer from
// either proves the route to both exists.
class RoutedPrefix {
 public:
  // "203.0.113.0/24", "2001:db8:500::/48"; nullopt for anything else.
  static std::optional<RoutedPrefix> parse(std::string_view text);
  // The /24 or /48 that holds `address` (an IP literal); nullopt for a name or garbage.
  static std::optional<RoutedPrefix> covering(std::string_view address);

  bool contains(std::string_view address) const;
  std::string to_string() const;
  int length() const { return length_; }
  bool operator==(const RoutedPrefix&) const = default;

 private:
  int family_ = 0;
  unsigned char bytes_[16] = {};  // the network address, host bits zero
  int length_ = 0;
};

// The IP of "192.0.2.1:53", "[2001:db8::1]:443" or a bare literal; the text unchanged otherwise.
std::string address_of(std::string_view target);

}  // namespace vantage
