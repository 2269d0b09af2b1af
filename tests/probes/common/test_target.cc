#include <catch2/catch.hpp>

#include <string>

#include "target.hh"

using namespace vantage;

namespace {

// "kind name port path" of what the text parses to, "-" for what it leaves out; or the error.
std::string parsed(std::string_view text) {
  const auto result = parse_target_location(text);
  if (!result.location) {
    return "error: " + result.error;
  }
  const auto& location = *result.location;
  return std::string(location.kind ? to_string(*location.kind) : "-") + " " + location.name + " " +
         (location.port ? std::to_string(*location.port) : "-") + " " + location.path.value_or("-");
}

}  // namespace

TEST_CASE("a target is written as a domain, an address or a URL of https, http or tcp",
          "[target]") {
  CHECK(parsed("Shop.Example.") == "- shop.example - -");
  CHECK(parsed("https://shop.example/") == "https shop.example - /");
  CHECK(parsed("HTTPS://shop.example:8443/health?full=1") ==
        "https shop.example 8443 /health?full=1");
  CHECK(parsed("http://intranet.corp.example:8080") == "http intranet.corp.example 8080 -");
  CHECK(parsed("tcp://mail.example:25") == "tcp mail.example 25 -");
  CHECK(parsed("127.0.0.1") == "- 127.0.0.1 - -");
  CHECK(parsed("http://192.0.2.10/status") == "http 192.0.2.10 - /status");
  CHECK(parsed("2001:DB8::10") == "- 2001:db8::10 - -");
  CHECK(parsed("[2001:db8:0::10]:8443") == "- 2001:db8::10 8443 -");
  CHECK(parsed("tcp://[2001:db8::5]:5432") == "tcp 2001:db8::5 5432 -");
  // A "://" after the first '/' belongs to the path.
  CHECK(parsed("shop.example/login?next=https://x") == "- shop.example - /login?next=https://x");
}

TEST_CASE(
    "targets written for the command line fill in the kind's defaults, and say what is "
    "given twice or does not fit",
    "[target]") {
  const auto made = [](std::string text, int port = 0, std::string path = "",
                       std::string body_regex = "") {
    TargetArguments arguments;
    arguments.target = std::move(text);
    arguments.port = port;
    arguments.path = std::move(path);
    arguments.body_regex = std::move(body_regex);
    const ParsedTarget result = target_from_arguments(arguments);
    if (!result.target) {
      return "error: " + result.error;
    }
    const Target& target = *result.target;
    return std::string(to_string(target.kind)) + " " + target.domain + " " +
           std::to_string(target.port) + " " + target.path;
  };
  CHECK(made("shop.example") == "https shop.example 443 /");
  CHECK(made("http://intranet.example", 0, "healthz") == "http intranet.example 80 /healthz");
  CHECK(made("192.0.2.10", 8443) == "https 192.0.2.10 8443 /");
  CHECK(made("tcp://db.example:5432") == "tcp db.example 5432 /");
  CHECK(made("tcp://db.example") ==
        "error: \"tcp://db.example\": a tcp target needs its port (tcp://HOST:PORT)");
  CHECK(made("shop.example:8443", 443) ==
        "error: \"shop.example:8443\" has a port already; leave out --port");
  CHECK(made("https://shop.example/a", 0, "/b") ==
        "error: \"https://shop.example/a\" has a path already; leave out --path");
  CHECK(made("tcp://db.example:5432", 0, "", "ok") ==
        "error: a tcp target has no HTTP layer: path, expect_status and body_regex do not apply");

  TargetArguments warned;
  warned.target = "shop.example";
  warned.warn_certificate = "30d";
  const auto parsed = target_from_arguments(warned);
  REQUIRE(parsed.target);
  CHECK(parsed.target->warn_before.certificate == std::chrono::hours(30 * 24));
  CHECK(parsed.target->warn_before.signature == std::chrono::hours(3 * 24));
  warned.warn_signature = "soon";
  CHECK(target_from_arguments(warned).error ==
        "--warn-signature: \"soon\" is not a period such as 14d, 12h or 30m (0d: never "
        "warn)");
}

TEST_CASE("what is not a target is refused saying why", "[target]") {
  CHECK(parsed("ftp://files.example/") ==
        "error: \"ftp://files.example/\" does not start with https://, http:// or tcp://");
  CHECK(parsed("https://bad_domain!/") ==
        "error: \"https://bad_domain!/\" is not a domain name or an IP address");
  CHECK(parsed("192.0.2.300") == "error: \"192.0.2.300\" is not a domain name or an IP address");
  CHECK(parsed("10.1") == "error: \"10.1\" is not a domain name or an IP address");
  CHECK(parsed("[shop.example]:443") ==
        "error: \"[shop.example]:443\" is not a domain name or an IP address");
  CHECK(parsed("[2001:db8::1") ==
        "error: \"[2001:db8::1\" is not [IPv6-ADDRESS] or "
        "[IPv6-ADDRESS]:PORT");
  CHECK(parsed("shop.example:0") ==
        "error: \"shop.example:0\" has no port from 1 to 65535 (\"0\")");
  CHECK(parsed("shop.example:http") ==
        "error: \"shop.example:http\" has no port from 1 to 65535 (\"http\")");
  CHECK(parsed("https://user@shop.example/") ==
        "error: \"https://user@shop.example/\" holds a user name; targets take none");
  CHECK(parsed("https://shop.example/a b") ==
        "error: \"https://shop.example/a b\" has spaces or control characters in its path");
  CHECK(parsed("") == "error: \"\" is not a domain name or an IP address");
}

TEST_CASE("a target's settings must fit its kind", "[target]") {
  CHECK(target_kind_problem(TargetKind::Https, "/health", true, true).empty());
  CHECK(target_kind_problem(TargetKind::Http, "/health", true, false).empty());
  CHECK(target_kind_problem(TargetKind::Tcp, "/", false, false).empty());
  CHECK(target_kind_problem(TargetKind::Tcp, "/health", false, false) ==
        "a tcp target has no HTTP layer: path, expect_status and body_regex do not apply");
  CHECK(target_kind_problem(TargetKind::Tcp, "/", true, false) ==
        "a tcp target has no HTTP layer: path, expect_status and body_regex do not apply");
  CHECK(target_kind_problem(TargetKind::Http, "/", false, true) ==
        "an http target has no TLS: ca_file and insecure do not apply");
}

TEST_CASE("a target's name is a canonical domain name or an address as inet_ntop writes it",
          "[target]") {
  CHECK(canonical_target_name("Social.Example.") == "social.example");
  CHECK(canonical_target_name("2001:0db8:0000::0010") == "2001:db8::10");
  CHECK(canonical_target_name("192.0.2.10") == "192.0.2.10");
  CHECK_FALSE(canonical_target_name("192.0.2.10:443"));
  CHECK_FALSE(canonical_target_name("fe80::1%eth0"));
  CHECK_FALSE(canonical_target_name(std::string_view("192.0.2.1\0junk", 14)));
  CHECK(is_address_name("::1"));
  CHECK_FALSE(is_address_name("social.example"));
}
