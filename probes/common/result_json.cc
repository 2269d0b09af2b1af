#include "result_json.hh"

#include <fmt/format.h>

#include <ctime>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace vantage {
namespace {

using nlohmann::json;

json to_json(const DnsRecord& record) {
  return {{"name", record.name}, {"type", record.type}, {"ttl", record.ttl}, {"data", record.data}};
}

json records_to_json(const std::vector<DnsRecord>& records) {
  json list = json::array();
  for (const auto& record : records) {
    list.push_back(to_json(record));
  }
  return list;
}

// The DNSSEC members of "dns", each only when the response had any: most zones are unsigned.
void add_dnssec(json& out, const DnsDetails& dns) {
  const auto add_list = [&out](const char* name, const auto& items, const auto& to_object) {
    if (items.empty()) {
      return;
    }
    json list = json::array();
    for (const auto& item : items) {
      list.push_back(to_object(item));
    }
    out[name] = std::move(list);
  };
  add_list("ede", dns.extended_errors, [](const ExtendedError& error) {
    return json{
        {"code", error.code}, {"name", extended_error_name(error.code)}, {"text", error.text}};
  });
  add_list("rrsigs", dns.signatures, [](const Signature& signature) {
    return json{{"owner", signature.owner},
                {"covered", signature.covered},
                {"algorithm", signature.algorithm},
                {"key_tag", signature.key_tag},
                {"signer", signature.signer},
                {"inception", format_time(signature.inception)},
                {"expiration", format_time(signature.expiration)}};
  });
  add_list("ds", dns.delegation_signers, [](const DelegationSigner& signer) {
    return json{{"owner", signer.owner},
                {"key_tag", signer.key_tag},
                {"algorithm", signer.algorithm},
                {"digest_type", signer.digest_type},
                {"digest", signer.digest}};
  });
  add_list("dnskeys", dns.zone_keys, [](const ZoneKey& key) {
    return json{{"owner", key.owner},
                {"flags", key.flags},
                {"algorithm", key.algorithm},
                {"key_tag", key.key_tag}};
  });
}

// An integer member in T's range. nlohmann's get<int> would take 4294967297 as 1 and 443.9 as 443.
template <typename T>
T integer_in_range(const json& value, const char* name) {
  if (value.is_number_unsigned()) {
    if (const auto number = value.get<uint64_t>(); std::in_range<T>(number)) {
      return static_cast<T>(number);
    }
  } else if (value.is_number_integer()) {
    if (const auto number = value.get<int64_t>(); std::in_range<T>(number)) {
      return static_cast<T>(number);
    }
  }
  throw std::invalid_argument(fmt::format("field \"{}\" must be a whole number from {} to {}", name,
                                          std::numeric_limits<T>::min(),
                                          std::numeric_limits<T>::max()));
}

template <typename T>
T field(const json& object, const char* name) {
  const auto found = object.find(name);
  if (found == object.end()) {
    throw std::invalid_argument(fmt::format("missing field \"{}\"", name));
  }
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return integer_in_range<T>(*found, name);
  } else {
    try {
      return found->get<T>();
    } catch (const json::exception&) {
      throw std::invalid_argument(fmt::format("field \"{}\" has the wrong type", name));
    }
  }
}

template <typename T>
T field_or(const json& object, const char* name, T fallback) {
  return object.contains(name) ? field<T>(object, name) : fallback;
}

const std::pair<const char*, std::optional<std::chrono::microseconds> Timings::*> kTimingFields[] =
    {{"resolve", &Timings::resolve},
     {"connect", &Timings::connect},
     {"tls", &Timings::tls},
     {"first_byte", &Timings::first_byte},
     {"total", &Timings::total}};

json to_json(const PathDetails& path) {
  json hops = json::array();
  for (const auto& hop : path.hops) {
    json item = {{"ttl", hop.ttl},
                 {"address", hop.address},
                 {"icmp_type", hop.icmp_type},
                 {"icmp_code", hop.icmp_code}};
    if (hop.rtt) {
      item["rtt_us"] = hop.rtt->count();
    }
    if (hop.asn) {
      item["asn"] = *hop.asn;
    }
    hops.push_back(std::move(item));
  }
  json out = {{"destination", path.destination},
              {"network", path.network},
              {"reached_destination", path.reached_destination},
              {"reached_network", path.reached_network},
              {"hops", std::move(hops)}};
  if (path.destination_asn) {
    out["destination_asn"] = *path.destination_asn;
  }
  return out;
}

json nameservers_to_json(const std::vector<LastKnown::Nameserver>& nameservers) {
  json list = json::array();
  for (const auto& server : nameservers) {
    list.push_back({{"name", server.name}, {"addresses", server.addresses}});
  }
  return list;
}

std::vector<LastKnown::Nameserver> nameservers_from_json(const json& list) {
  std::vector<LastKnown::Nameserver> nameservers;
  for (const auto& item : list) {
    nameservers.push_back(
        {field<std::string>(item, "name"), field<std::vector<std::string>>(item, "addresses")});
  }
  return nameservers;
}

// "2026-11-25T04:00:00", in UTC.
std::string calendar_text(std::chrono::sys_seconds time) {
  const std::time_t whole = time.time_since_epoch().count();
  std::tm parts{};
  gmtime_r(&whole, &parts);
  char text[32] = {};
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
  return text;
}

}  // namespace

std::string format_time(std::chrono::system_clock::time_point time) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time - seconds).count();
  return fmt::format("{}.{:03}Z", calendar_text(seconds), millis);
}

std::string format_seconds(std::chrono::sys_seconds time) {
  return calendar_text(time) + "Z";
}

std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text) {
  std::tm parts{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &parts);
  if (rest == nullptr) {
    return std::nullopt;
  }
  int millis = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 3) {
        millis = millis * 10 + (*rest - '0');
        ++digits;
      }
      ++rest;
    }
    for (; digits < 3; ++digits) {
      millis *= 10;
    }
  }
  if (std::string(rest) != "Z") {
    return std::nullopt;
  }
  // strptime takes any day from 1 to 31 in any month, and timegm would make 2026-02-31 into
  // March 3rd.
  const std::chrono::year_month_day date{
      std::chrono::year{parts.tm_year + 1900},
      std::chrono::month{static_cast<unsigned>(parts.tm_mon + 1)},
      std::chrono::day{static_cast<unsigned>(parts.tm_mday)}};
  // The clock counts nanoseconds in 64 bits (years 1678 to 2262): a year outside it would
  // overflow, and no cycle, alert or query is from before Unix time or centuries ahead.
  if (!date.ok() || date.year() < std::chrono::year{kEarliestYear} ||
      date.year() > std::chrono::year{kLatestYear}) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&parts)) + std::chrono::milliseconds(millis);
}

std::optional<std::chrono::sys_seconds> parse_seconds(const std::string& text) {
  const auto time = parse_time(text);
  if (!time) {
    return std::nullopt;
  }
  return std::chrono::floor<std::chrono::seconds>(*time);
}

json to_json(const ProbeResult& result) {
  json out = {{"check", to_string(result.check)},
              {"target", result.target},
              {"subject", result.subject},
              {"ok", result.ok()},
              {"failure", to_string(result.failure)},
              {"phase", to_string(result.phase)},
              {"native_code", result.native_code},
              {"native_kind", to_string(result.native_kind)},
              {"detail", result.detail}};
  json timings = json::object();
  for (const auto& [name, member] : kTimingFields) {
    if (const auto& value = result.timings.*member) {
      timings[name] = value->count();
    }
  }
  out["timings_us"] = timings;
  if (result.dns) {
    const auto& dns = *result.dns;
    out["dns"] = {{"qname", dns.qname},
                  {"qtype", dns.qtype},
                  {"rcode", dns.rcode},
                  {"rcode_name", rcode_name(dns.rcode)},
                  {"aa", dns.authoritative},
                  {"tc", dns.truncated},
                  {"ad", dns.authenticated},
                  {"answers", records_to_json(dns.answers)},
                  {"authority", records_to_json(dns.authority)},
                  {"additional", records_to_json(dns.additional)}};
    add_dnssec(out["dns"], dns);
  }
  if (result.tls) {
    out["tls"] = {{"version", result.tls->version},
                  {"subject", result.tls->subject},
                  {"issuer", result.tls->issuer},
                  {"not_after", result.tls->not_after}};
    if (!result.tls->earliest_not_after.empty()) {
      out["tls"]["earliest_subject"] = result.tls->earliest_subject;
      out["tls"]["earliest_not_after"] = result.tls->earliest_not_after;
    }
  }
  if (result.http_status) {
    out["http_status"] = *result.http_status;
  }
  if (result.path) {
    out["path"] = to_json(*result.path);
  }
  return out;
}

json to_json(const LastKnown& last_known) {
  return {{"addresses", last_known.addresses},
          {"nameservers", nameservers_to_json(last_known.nameservers)}};
}

LastKnown last_known_from_json(const json& in) {
  LastKnown last_known;
  last_known.addresses = field_or<std::vector<std::string>>(in, "addresses", {});
  if (in.contains("nameservers")) {
    last_known.nameservers = nameservers_from_json(in["nameservers"]);
  }
  return last_known;
}

// "expiring" only when something does: a collector older than the member reads the rest.
json reading_to_json(const Reading& reading) {
  json out = {{"verdict", to_string(reading.verdict)},
              {"summary", reading.summary},
              {"evidence", reading.evidence},
              {"warnings", reading.warnings}};
  for (const auto& expiry : reading.expiring) {
    out["expiring"].push_back({{"kind", to_string(expiry.kind)},
                               {"subject", expiry.subject},
                               {"expires_at", format_time(expiry.expires)},
                               {"at", expiry.at},
                               {"of", expiry.of},
                               {"text", expiry.text}});
  }
  return out;
}

json to_json(const CycleResult& cycle) {
  json results = json::array();
  for (const auto& result : cycle.results) {
    results.push_back(to_json(result));
  }
  return {{"schema_version", kCycleSchemaVersion},
          {"domain", cycle.domain},
          {"started_at", format_time(cycle.started_at)},
          {"duration_us", cycle.duration.count()},
          {"reading", reading_to_json(cycle.reading)},
          {"addresses",
           {{"recursive", cycle.recursive_addresses},
            {"authoritative", cycle.authoritative_addresses},
            {"last_known", cycle.last_known_used.addresses}}},
          {"nameservers", nameservers_to_json(cycle.nameservers)},
          {"last_known_nameservers", nameservers_to_json(cycle.last_known_used.nameservers)},
          {"results", results}};
}

}  // namespace vantage
