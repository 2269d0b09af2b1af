#include "sample_cycle.hh"

#include <fmt/format.h>

#include "reading.hh"

namespace vantage::bench {
namespace {

DnsDetails answer(const std::string& qname, uint16_t qtype, bool authoritative,
                  std::vector<DnsRecord> answers) {
  DnsDetails details;
  details.qname = qname;
  details.qtype = qtype;
  details.authoritative = authoritative;
  details.answers = std::move(answers);
  return details;
}

}  // namespace

CycleResult healthy_cycle(const std::string& domain,
                          std::chrono::system_clock::time_point started_at, int variant) {
  const std::string v4 = fmt::format("192.0.2.{}", 10 + variant % 200);
  const std::string v6 = fmt::format("2001:db8::{:x}", 0x10 + variant);
  const std::string ns1 = "ns1.dns-provider.example";
  const std::string ns2 = "ns2.dns-provider.example";
  auto us = [](int64_t n) { return std::chrono::microseconds(n); };

  CycleResult cycle;
  cycle.domain = domain;
  cycle.started_at = started_at;
  cycle.duration = us(48'213 + variant * 17);
  cycle.recursive_addresses = {v4, v6};
  cycle.authoritative_addresses = {v4, v6};
  cycle.nameservers = {{ns1, {"198.51.100.53", "2001:db8:53::1"}},
                       {ns2, {"203.0.113.53", "2001:db8:53::2"}}};
  cycle.last_known_used.addresses = {v4, v6};
  cycle.last_known_used.nameservers = cycle.nameservers;

  ProbeResult recursive;
  recursive.check = Check::DnsRecursive;
  recursive.target = "127.0.0.53:53";
  recursive.subject = domain + " A";
  recursive.native_kind = NativeKind::Rcode;
  recursive.detail = "NOERROR, 1 A record";
  recursive.timings.resolve = us(1'204);
  recursive.timings.total = us(1'204);
  recursive.dns = answer(domain, 1, false, {{domain, 1, 300, v4}});

  ProbeResult delegation;
  delegation.check = Check::DnsParent;
  delegation.target = "192.0.2.200:53";
  delegation.subject = domain + " NS @a.nic.example";
  delegation.native_kind = NativeKind::Rcode;
  delegation.detail = "delegated to 2 nameservers";
  delegation.timings.resolve = us(9'871);
  delegation.timings.total = us(9'871);
  delegation.dns = answer(domain, 2, false, {});
  delegation.dns->authority = {{domain, 2, 172800, ns1}, {domain, 2, 172800, ns2}};
  delegation.dns->additional = {{ns1, 1, 172800, "198.51.100.53"},
                                {ns1, 28, 172800, "2001:db8:53::1"},
                                {ns2, 1, 172800, "203.0.113.53"},
                                {ns2, 28, 172800, "2001:db8:53::2"}};

  auto authoritative = [&](const std::string& ns, const std::string& address, int64_t took) {
    ProbeResult result;
    result.check = Check::DnsAuthoritative;
    result.target = address + ":53";
    result.subject = fmt::format("{} A @{}", domain, ns);
    result.native_kind = NativeKind::Rcode;
    result.detail = "authoritative, 1 A record";
    result.timings.resolve = us(took);
    result.timings.total = us(took);
    result.dns = answer(domain, 1, true, {{domain, 1, 300, v4}});
    return result;
  };

  auto tcp = [&](const std::string& target, int64_t took) {
    ProbeResult result;
    result.check = Check::Tcp;
    result.target = target;
    result.subject = "tcp connect " + target;
    result.phase = Phase::Connect;
    result.native_kind = NativeKind::Errno;
    result.timings.connect = us(took);
    result.timings.total = us(took);
    return result;
  };

  auto https = [&](const std::string& target, int64_t connect) {
    ProbeResult result;
    result.check = Check::Https;
    result.target = target;
    result.subject = fmt::format("https://{}:443/", domain);
    result.phase = Phase::Response;
    result.native_code = 200;
    result.native_kind = NativeKind::Http;
    result.detail = "HTTP status 200";
    result.timings.connect = us(connect);
    result.timings.tls = us(11'532);
    result.timings.first_byte = us(6'310);
    result.timings.total = us(connect + 11'532 + 6'310 + 412);
    result.tls = TlsDetails{"TLSv1.3",
                            "CN=" + domain,
                            "C=US, O=Let's Encrypt, CN=R3",
                            "2027-02-17T08:14:02Z",
                            "CN=" + domain,
                            "2027-02-17T08:14:02Z"};
    result.http_status = 200;
    return result;
  };

  cycle.results = {recursive,
                   delegation,
                   authoritative(ns1, "198.51.100.53", 7'702),
                   authoritative(ns2, "203.0.113.53", 8'113),
                   tcp(v4 + ":443", 5'301),
                   tcp("[" + v6 + "]:443", 5'977),
                   https(v4 + ":443", 5'288),
                   https("[" + v6 + "]:443", 6'004)};
  cycle.reading = vantage::read_cycle(cycle);
  return cycle;
}

}  // namespace vantage::bench
