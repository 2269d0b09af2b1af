#include "target.hh"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <tuple>

#include "domain_name.hh"
#include "duration.hh"
#include "printable.hh"

namespace vantage {
namespace {

constexpr std::array<std::string_view, 3> kKindNames = {"https", "http", "tcp"};

std::optional<std::string> canonical_address(std::string_view name) {
  if (name.find('\0') != std::string_view::npos) {  // inet_pton would stop there
    return std::nullopt;
  }
  const std::string text(name);
  for (const int family : {AF_INET, AF_INET6}) {
    std::array<unsigned char, 16> binary{};
    if (inet_pton(family, text.c_str(), binary.data()) == 1) {
      std::array<char, INET6_ADDRSTRLEN> out{};
      inet_ntop(family, binary.data(), out.data(), out.size());
      return std::string(out.data());
    }
  }
  return std::nullopt;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

std::optional<uint16_t> port_number(std::string_view text) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

std::string_view to_string(TargetKind kind) {
  return kKindNames.at(static_cast<size_t>(kind));
}

std::optional<TargetKind> target_kind_from_string(std::string_view text) {
  const auto found = std::find(kKindNames.begin(), kKindNames.end(), text);
  if (found == kKindNames.end()) {
    return std::nullopt;
  }
  return static_cast<TargetKind>(found - kKindNames.begin());
}

uint16_t default_port(TargetKind kind) {
  switch (kind) {
    case TargetKind::Https:
      return 443;
    case TargetKind::Http:
      return 80;
    case TargetKind::Tcp:
      break;
  }
  return 0;
}

std::optional<std::string> canonical_target_name(std::string_view name) {
  if (auto address = canonical_address(name)) {
    return address;
  }
  auto domain = canonical_domain_name(name);
  // "10.1" or "192.0.2.300" is a mistyped address, not a name: no top-level domain is numeric.
  if (domain) {
    const std::string_view last = std::string_view(*domain).substr(domain->rfind('.') + 1);
    if (std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
  }
  return domain;
}

bool is_address_name(std::string_view name) {
  return canonical_address(name).has_value();
}

std::string target_kind_problem(TargetKind kind, const std::string& path, bool has_http_checks,
                                bool has_tls_settings) {
  if (kind == TargetKind::Tcp && (path != "/" || has_http_checks)) {
    return "a tcp target has no HTTP layer: path, expect_status and body_regex do not apply";
  }
  if (kind != TargetKind::Https && has_tls_settings) {
    return fmt::format("{} target has no TLS: ca_file and insecure do not apply",
                       kind == TargetKind::Http ? "an http" : "a tcp");
  }
  return "";
}

nlohmann::json to_json(const Target& target) {
  return {{"domain", target.domain},
          {"kind", to_string(target.kind)},
          {"port", target.port},
          {"path", target.path},
          {"expect_status", target.expect_status},
          {"body_regex", target.body_regex},
          {"ca_file", target.ca_file},
          {"insecure", target.insecure},
          {"warn_before", to_json(target.warn_before)}};
}

nlohmann::json to_json(const ExpiryThresholds& thresholds) {
  return {{"certificate", format_period(thresholds.certificate)},
          {"signature", format_period(thresholds.signature)}};
}

std::string read_threshold(std::string_view text, std::chrono::milliseconds* period) {
  const auto parsed = parse_period(text);
  if (!parsed) {
    return fmt::format("\"{}\" is not a period such as 14d, 12h or 30m (0d: never warn)",
                       printable(text));
  }
  *period = *parsed;
  return "";
}

std::string read_expiry_thresholds(const nlohmann::json& json, ExpiryThresholds& thresholds) {
  if (!json.is_object()) {
    return "warn_before: must be an object such as {\"certificate\": \"14d\", \"signature\": "
           "\"3d\"}";
  }
  for (const auto& [key, value] : json.items()) {
    std::chrono::milliseconds* period = key == "certificate" ? &thresholds.certificate
                                        : key == "signature" ? &thresholds.signature
                                                             : nullptr;
    if (period == nullptr) {
      return fmt::format("warn_before.{}: unknown key (certificate, signature)", printable(key));
    }
    if (!value.is_string()) {
      return fmt::format("warn_before.{}: {} is not a period such as \"14d\", \"12h\" or \"30m\"",
                         key, printable(value.dump()));
    }
    if (std::string problem = read_threshold(value.get<std::string>(), period); !problem.empty()) {
      return fmt::format("warn_before.{}: {}", key, problem);
    }
  }
  return "";
}

ParsedTargetLocation parse_target_location(std::string_view text) {
  const auto fail = [&](std::string_view why) {
    return ParsedTargetLocation{std::nullopt, fmt::format("\"{}\" {}", text, why)};
  };
  TargetLocation location;
  std::string_view rest = text;
  // A scheme comes before any '/': "shop.example/login?next=https://x" has none.
  const size_t scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos &&
      rest.substr(0, scheme_end).find('/') == std::string_view::npos) {
    location.kind = target_kind_from_string(lower(rest.substr(0, scheme_end)));
    if (!location.kind) {
      return fail("does not start with https://, http:// or tcp://");
    }
    rest.remove_prefix(scheme_end + 3);
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    location.path = std::string(rest.substr(slash));
    const bool visible = std::all_of(location.path->begin(), location.path->end(), [](char c) {
      return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
    });
    if (!visible) {
      return fail("has spaces or control characters in its path");
    }
  }
  if (authority.find('@') != std::string_view::npos) {
    return fail("holds a user name; targets take none");
  }
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    const std::string_view after =
        close == std::string_view::npos ? "" : authority.substr(close + 1);
    if (close == std::string_view::npos || !(after.empty() || after.front() == ':')) {
      return fail("is not [IPv6-ADDRESS] or [IPv6-ADDRESS]:PORT");
    }
    host = authority.substr(1, close - 1);
    if (!after.empty()) {
      port = after.substr(1);
    }
  } else if (std::count(authority.begin(), authority.end(), ':') == 1) {
    // More than one colon without brackets is an IPv6 address with no port.
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  auto name = canonical_target_name(host);
  if (!name || (authority.front() == '[' && !is_address_name(*name))) {
    return fail("is not a domain name or an IP address");
  }
  location.name = std::move(*name);
  if (port) {
    location.port = port_number(*port);
    if (!location.port) {
      return fail(fmt::format("has no port from 1 to 65535 (\"{}\")", *port));
    }
  }
  return ParsedTargetLocation{std::move(location), ""};
}

ParsedTarget target_from_arguments(const TargetArguments& arguments) {
  const auto fail = [](std::string why) { return ParsedTarget{std::nullopt, std::move(why)}; };
  const auto parsed = parse_target_location(arguments.target);
  if (!parsed.location) {
    return fail(parsed.error);
  }
  const TargetLocation& location = *parsed.location;
  if (location.port && arguments.port != 0) {
    return fail(fmt::format("\"{}\" has a port already; leave out --port", arguments.target));
  }
  if (location.path && !arguments.path.empty()) {
    return fail(fmt::format("\"{}\" has a path already; leave out --path", arguments.target));
  }
  Target target;
  target.domain = location.name;
  target.kind = location.kind.value_or(TargetKind::Https);
  target.port =
      location.port.value_or(arguments.port != 0 ? arguments.port : default_port(target.kind));
  if (target.port == 0) {
    return fail(
        fmt::format("\"{}\": a tcp target needs its port (tcp://HOST:PORT)", arguments.target));
  }
  target.path = location.path.value_or(arguments.path.empty() ? "/" : arguments.path);
  if (target.path.front() != '/') {
    target.path = "/" + target.path;
  }
  target.expect_status = arguments.expect_status;
  target.body_regex = arguments.body_regex;
  target.ca_file = arguments.ca_file;
  target.insecure = arguments.insecure;
  for (const auto& [text, period, option] :
       {std::tuple{&arguments.warn_certificate, &target.warn_before.certificate,
                   "--warn-certificate"},
        std::tuple{&arguments.warn_signature, &target.warn_before.signature, "--warn-signature"}}) {
    if (text->empty()) {
      continue;
    }
    if (std::string problem = read_threshold(*text, period); !problem.empty()) {
      return fail(fmt::format("{}: {}", option, problem));
    }
  }
  if (std::string problem = target_kind_problem(
          target.kind, target.path, !target.expect_status.empty() || !target.body_regex.empty(),
          !target.ca_file.empty() || target.insecure);
      !problem.empty()) {
    return fail(std::move(problem));
  }
  return ParsedTarget{std::move(target), ""};
}

}  // namespace vantage
