#include "cycle_reader.hh"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <optional>
#include <type_traits>
#include <vector>

#include "printable.hh"
#include "result_json.hh"

namespace vantage {
namespace json_walk {

void check(simdjson::error_code error) {
  if (error != simdjson::SUCCESS) {
    throw MalformedJson(fmt::format("malformed JSON: {}", simdjson::error_message(error)));
  }
}

void check_end(simdjson::ondemand::document& document) {
  // A location inside the text is one past the root value: more than one document.
  const char* rest = nullptr;
  if (document.current_location().get(rest) == simdjson::SUCCESS) {
    throw MalformedJson("malformed JSON: more after the document");
  }
}

void check_field(simdjson::error_code error, std::string_view name) {
  if (error == simdjson::INCORRECT_TYPE) {
    throw std::invalid_argument(fmt::format("field \"{}\" has the wrong type", name));
  }
  check(error);
}

std::string string_of(value item, std::string_view name) {
  std::string_view text;
  check_field(item.get_string().get(text), name);
  return std::string(text);
}

bool bool_of(value item, std::string_view name) {
  bool flag = false;
  check_field(item.get_bool().get(flag), name);
  return flag;
}

std::optional<int64_t> integer_of(value item) {
  int64_t number = 0;
  const auto error = item.get_int64().get(number);
  if (error == simdjson::SUCCESS) {
    return number;
  }
  // Integers above INT64_MAX and floats are JSON, just not the integers any field takes.
  if (error == simdjson::NUMBER_OUT_OF_RANGE || error == simdjson::INCORRECT_TYPE) {
    return std::nullopt;
  }
  check(error);
  return std::nullopt;
}

object object_of(value item, std::string_view what) {
  object found;
  const auto error = item.get_object().get(found);
  if (error == simdjson::INCORRECT_TYPE) {
    throw std::invalid_argument(fmt::format("{} must be an object", what));
  }
  check(error);
  return found;
}

void skip(value item, int depth) {
  simdjson::ondemand::json_type type{};
  check(item.type().get(type));
  switch (type) {
    case simdjson::ondemand::json_type::object: {
      object inner;
      check(item.get_object().get(inner));
      members(inner, depth + 1, [](std::string_view, value) { return false; });
      return;
    }
    case simdjson::ondemand::json_type::array:
      elements(item, "", depth, [&](value element) { skip(element, depth + 1); });
      return;
    case simdjson::ondemand::json_type::number: {
      // As a double, so that integers beyond 64 bits are JSON too; 1e400 is not.
      double number = 0;
      if (item.get_double().get(number) != simdjson::SUCCESS) {
        throw MalformedJson("malformed JSON: a number is malformed or beyond a 64-bit float");
      }
      return;
    }
    case simdjson::ondemand::json_type::string: {
      std::string_view text;
      check(item.get_string().get(text));
      return;
    }
    case simdjson::ondemand::json_type::boolean: {
      bool flag = false;
      check(item.get_bool().get(flag));
      return;
    }
    case simdjson::ondemand::json_type::null: {
      bool null = false;
      check(item.is_null().get(null));
      if (!null) {
        check(simdjson::N_ATOM_ERROR);
      }
      return;
    }
  }
}

}  // namespace json_walk

namespace {

using json_walk::bool_of;
using json_walk::elements;
using json_walk::members;
using json_walk::object;
using json_walk::object_of;
using json_walk::string_of;
using json_walk::value;

// An integer member in T's range: 4294967297 is not 1, nor 443.9 443.
template <typename T>
T integer(value item, std::string_view name) {
  const auto number = json_walk::integer_of(item);
  if (!number || !std::in_range<T>(*number)) {
    throw std::invalid_argument(fmt::format("field \"{}\" must be a whole number from {} to {}",
                                            name, std::numeric_limits<T>::min(),
                                            std::numeric_limits<T>::max()));
  }
  return static_cast<T>(*number);
}

template <typename Enum>
Enum enum_of(value item, std::string_view name, std::optional<Enum> (*parse)(std::string_view)) {
  std::string_view text;
  json_walk::check_field(item.get_string().get(text), name);
  const auto parsed = parse(text);
  if (!parsed) {
    throw std::invalid_argument(
        fmt::format("field \"{}\" has unknown value \"{}\"", name, printable(text)));
  }
  return *parsed;
}

std::vector<std::string> strings_of(value list, std::string_view name, int depth) {
  std::vector<std::string> strings;
  elements(list, name, depth, [&](value item) { strings.push_back(string_of(item, name)); });
  return strings;
}

// Which required members a document had; the first missing one, in the order named, is reported.
template <size_t N>
class Required {
 public:
  explicit Required(std::array<std::string_view, N> names) : names_(names) {}
  void saw(std::string_view name) {
    for (size_t i = 0; i < N; ++i) {
      if (names_[i] == name) {
        seen_[i] = true;
      }
    }
  }
  void check() const {
    for (size_t i = 0; i < N; ++i) {
      if (!seen_[i]) {
        throw std::invalid_argument(fmt::format("missing field \"{}\"", names_[i]));
      }
    }
  }

 private:
  std::array<std::string_view, N> names_;
  std::array<bool, N> seen_{};
};

DnsRecord record_of(value item, int depth) {
  object in = object_of(item, "a DNS record");
  DnsRecord record;
  Required<4> required({"name", "type", "ttl", "data"});
  members(in, depth, [&](std::string_view key, value member) {
    if (key == "name") {
      record.name = string_of(member, key);
    } else if (key == "type") {
      record.type = integer<uint16_t>(member, key);
    } else if (key == "ttl") {
      record.ttl = integer<uint32_t>(member, key);
    } else if (key == "data") {
      record.data = string_of(member, key);
    } else {
      return false;
    }
    required.saw(key);
    return true;
  });
  required.check();
  return record;
}

std::vector<DnsRecord> records_of(value list, std::string_view name, int depth) {
  std::vector<DnsRecord> records;
  elements(list, name, depth, [&](value item) { records.push_back(record_of(item, depth + 2)); });
  return records;
}

// An RFC 3339 UTC time to the second, as the DNSSEC members carry them.
std::chrono::sys_seconds seconds_of(value item, std::string_view name) {
  const auto time = parse_seconds(string_of(item, name));
  if (!time) {
    throw std::invalid_argument(fmt::format("field \"{}\" is not an RFC 3339 UTC time", name));
  }
  return *time;
}

// The objects of array `list`, each read by `read(member key, member value)` (which says whether
// it knew the key) and checked for the members `required` names.
template <size_t N, typename Item, typename Read>
std::vector<Item> objects_of(value list, std::string_view name, int depth,
                             std::array<std::string_view, N> required_names, Read read) {
  std::vector<Item> items;
  elements(list, name, depth, [&](value element) {
    object in = object_of(element, fmt::format("an element of \"{}\"", name));
    Item item;
    Required<N> required(required_names);
    members(in, depth + 2, [&](std::string_view key, value member) {
      if (!read(item, key, member)) {
        return false;
      }
      required.saw(key);
      return true;
    });
    required.check();
    items.push_back(std::move(item));
  });
  return items;
}

std::vector<ExtendedError> extended_errors_of(value list, std::string_view name, int depth) {
  return objects_of<2, ExtendedError>(list, name, depth, {"code", "text"},
                                      [](ExtendedError& error, std::string_view key, value member) {
                                        if (key == "code") {
                                          error.code = integer<uint16_t>(member, key);
                                        } else if (key == "text") {
                                          error.text = string_of(member, key);
                                        } else {
                                          return false;
                                        }
                                        return true;
                                      });
}

std::vector<Signature> signatures_of(value list, std::string_view name, int depth) {
  return objects_of<7, Signature>(
      list, name, depth,
      {"owner", "covered", "algorithm", "key_tag", "signer", "inception", "expiration"},
      [](Signature& signature, std::string_view key, value member) {
        if (key == "owner") {
          signature.owner = string_of(member, key);
        } else if (key == "covered") {
          signature.covered = integer<uint16_t>(member, key);
        } else if (key == "algorithm") {
          signature.algorithm = integer<uint8_t>(member, key);
        } else if (key == "key_tag") {
          signature.key_tag = integer<uint16_t>(member, key);
        } else if (key == "signer") {
          signature.signer = string_of(member, key);
        } else if (key == "inception") {
          signature.inception = seconds_of(member, key);
        } else if (key == "expiration") {
          signature.expiration = seconds_of(member, key);
        } else {
          return false;
        }
        return true;
      });
}

std::vector<DelegationSigner> delegation_signers_of(value list, std::string_view name, int depth) {
  return objects_of<5, DelegationSigner>(
      list, name, depth, {"owner", "key_tag", "algorithm", "digest_type", "digest"},
      [](DelegationSigner& signer, std::string_view key, value member) {
        if (key == "owner") {
          signer.owner = string_of(member, key);
        } else if (key == "key_tag") {
          signer.key_tag = integer<uint16_t>(member, key);
        } else if (key == "algorithm") {
          signer.algorithm = integer<uint8_t>(member, key);
        } else if (key == "digest_type") {
          signer.digest_type = integer<uint8_t>(member, key);
        } else if (key == "digest") {
          signer.digest = string_of(member, key);
        } else {
          return false;
        }
        return true;
      });
}

std::vector<ZoneKey> zone_keys_of(value list, std::string_view name, int depth) {
  return objects_of<4, ZoneKey>(list, name, depth, {"owner", "flags", "algorithm", "key_tag"},
                                [](ZoneKey& zone_key, std::string_view key, value member) {
                                  if (key == "owner") {
                                    zone_key.owner = string_of(member, key);
                                  } else if (key == "flags") {
                                    zone_key.flags = integer<uint16_t>(member, key);
                                  } else if (key == "algorithm") {
                                    zone_key.algorithm = integer<uint8_t>(member, key);
                                  } else if (key == "key_tag") {
                                    zone_key.key_tag = integer<uint16_t>(member, key);
                                  } else {
                                    return false;
                                  }
                                  return true;
                                });
}

DnsDetails dns_of(value item, int depth) {
  object in = object_of(item, "field \"dns\"");
  DnsDetails dns;
  Required<7> required({"qname", "qtype", "rcode", "aa", "answers", "authority", "additional"});
  members(in, depth, [&](std::string_view key, value member) {
    if (key == "qname") {
      dns.qname = string_of(member, key);
    } else if (key == "qtype") {
      dns.qtype = integer<uint16_t>(member, key);
    } else if (key == "rcode") {
      dns.rcode = integer<int>(member, key);
    } else if (key == "aa") {
      dns.authoritative = bool_of(member, key);
    } else if (key == "tc") {
      dns.truncated = bool_of(member, key);
    } else if (key == "ad") {
      dns.authenticated = bool_of(member, key);
    } else if (key == "ede") {
      dns.extended_errors = extended_errors_of(member, key, depth);
    } else if (key == "rrsigs") {
      dns.signatures = signatures_of(member, key, depth);
    } else if (key == "ds") {
      dns.delegation_signers = delegation_signers_of(member, key, depth);
    } else if (key == "dnskeys") {
      dns.zone_keys = zone_keys_of(member, key, depth);
    } else if (key == "answers") {
      dns.answers = records_of(member, key, depth);
    } else if (key == "authority") {
      dns.authority = records_of(member, key, depth);
    } else if (key == "additional") {
      dns.additional = records_of(member, key, depth);
    } else {
      return false;
    }
    required.saw(key);
    return true;
  });
  required.check();
  return dns;
}

TlsDetails tls_of(value item, int depth) {
  object in = object_of(item, "field \"tls\"");
  TlsDetails tls;
  Required<4> required({"version", "subject", "issuer", "not_after"});
  members(in, depth, [&](std::string_view key, value member) {
    if (key == "version") {
      tls.version = string_of(member, key);
    } else if (key == "subject") {
      tls.subject = string_of(member, key);
    } else if (key == "issuer") {
      tls.issuer = string_of(member, key);
    } else if (key == "not_after") {
      tls.not_after = string_of(member, key);
    } else if (key == "earliest_subject") {
      tls.earliest_subject = string_of(member, key);
    } else if (key == "earliest_not_after") {
      tls.earliest_not_after = string_of(member, key);
    } else {
      return false;
    }
    required.saw(key);
    return true;
  });
  required.check();
  return tls;
}

Timings timings_of(value item, int depth) {
  static constexpr std::array<
      std::pair<std::string_view, std::optional<std::chrono::microseconds> Timings::*>, 5>
      kTimingFields = {{{"resolve", &Timings::resolve},
                        {"connect", &Timings::connect},
                        {"tls", &Timings::tls},
                        {"first_byte", &Timings::first_byte},
                        {"total", &Timings::total}}};
  object in = object_of(item, "field \"timings_us\"");
  Timings timings;
  members(in, depth, [&](std::string_view key, value member) {
    for (const auto& [name, field] : kTimingFields) {
      if (key == name) {
        timings.*field = std::chrono::microseconds(integer<int64_t>(member, key));
        return true;
      }
    }
    return false;
  });
  return timings;
}

PathHop hop_of(value item, int depth) {
  object in = object_of(item, "a path hop");
  PathHop hop;
  Required<1> required({"ttl"});
  members(in, depth, [&](std::string_view key, value member) {
    if (key == "ttl") {
      hop.ttl = integer<int>(member, key);
      required.saw(key);
    } else if (key == "address") {
      hop.address = string_of(member, key);
    } else if (key == "icmp_type") {
      hop.icmp_type = integer<int>(member, key);
    } else if (key == "icmp_code") {
      hop.icmp_code = integer<int>(member, key);
    } else if (key == "rtt_us") {
      hop.rtt = std::chrono::microseconds(integer<int64_t>(member, key));
    } else if (key == "asn") {
      hop.asn = integer<int64_t>(member, key);
    } else {
      return false;
    }
    return true;
  });
  required.check();
  return hop;
}

PathDetails path_of(value item, int depth) {
  object in = object_of(item, "field \"path\"");
  PathDetails path;
  Required<4> required({"destination", "reached_destination", "reached_network", "hops"});
  members(in, depth, [&](std::string_view key, value member) {
    if (key == "destination") {
      path.destination = string_of(member, key);
    } else if (key == "network") {
      path.network = string_of(member, key);
    } else if (key == "reached_destination") {
      path.reached_destination = bool_of(member, key);
    } else if (key == "reached_network") {
      path.reached_network = bool_of(member, key);
    } else if (key == "destination_asn") {
      path.destination_asn = integer<int64_t>(member, key);
    } else if (key == "hops") {
      elements(member, key, depth, [&](value hop) { path.hops.push_back(hop_of(hop, depth + 2)); });
    } else {
      return false;
    }
    required.saw(key);
    return true;
  });
  required.check();
  return path;
}

ProbeResult probe_result_of(value item, int depth) {
  object in = object_of(item, "a result");
  ProbeResult result;
  Required<4> required({"check", "target", "failure", "phase"});
  members(in, depth, [&](std::string_view key, value member) {
    if (key == "check") {
      result.check = enum_of<Check>(member, key, &check_from_string);
    } else if (key == "target") {
      result.target = string_of(member, key);
    } else if (key == "subject") {
      result.subject = string_of(member, key);
    } else if (key == "failure") {
      result.failure = enum_of<Failure>(member, key, &failure_from_string);
    } else if (key == "phase") {
      result.phase = enum_of<Phase>(member, key, &phase_from_string);
    } else if (key == "native_code") {
      result.native_code = integer<int>(member, key);
    } else if (key == "native_kind") {
      result.native_kind = enum_of<NativeKind>(member, key, &native_kind_from_string);
    } else if (key == "detail") {
      result.detail = string_of(member, key);
    } else if (key == "timings_us") {
      result.timings = timings_of(member, depth + 1);
    } else if (key == "dns") {
      result.dns = dns_of(member, depth + 1);
    } else if (key == "tls") {
      result.tls = tls_of(member, depth + 1);
    } else if (key == "http_status") {
      result.http_status = integer<int>(member, key);
    } else if (key == "path") {
      result.path = path_of(member, depth + 1);
    } else {
      return false;
    }
    required.saw(key);
    return true;
  });
  required.check();
  return result;
}

LastKnown::Nameserver nameserver_of(value item, int depth) {
  object in = object_of(item, "a nameserver");
  LastKnown::Nameserver server;
  Required<2> required({"name", "addresses"});
  members(in, depth, [&](std::string_view key, value member) {
    if (key == "name") {
      server.name = string_of(member, key);
    } else if (key == "addresses") {
      server.addresses = strings_of(member, key, depth);
    } else {
      return false;
    }
    required.saw(key);
    return true;
  });
  required.check();
  return server;
}

std::vector<LastKnown::Nameserver> nameservers_of(value list, std::string_view name, int depth) {
  std::vector<LastKnown::Nameserver> servers;
  elements(list, name, depth,
           [&](value item) { servers.push_back(nameserver_of(item, depth + 2)); });
  return servers;
}

std::vector<Expiry> expiries_of(value list, std::string_view name, int depth) {
  return objects_of<6, Expiry>(
      list, name, depth, {"kind", "subject", "expires_at", "at", "of", "text"},
      [depth](Expiry& expiry, std::string_view key, value member) {
        if (key == "kind") {
          expiry.kind = enum_of<ExpiryKind>(member, key, &expiry_kind_from_string);
        } else if (key == "subject") {
          expiry.subject = string_of(member, key);
        } else if (key == "expires_at") {
          expiry.expires = seconds_of(member, key);
        } else if (key == "at") {
          expiry.at = strings_of(member, key, depth + 2);
        } else if (key == "of") {
          expiry.of = integer<int>(member, key);
        } else if (key == "text") {
          expiry.text = string_of(member, key);
        } else {
          return false;
        }
        return true;
      });
}

void reading_of(value item, int depth, Reading& reading) {
  object in = object_of(item, "field \"reading\"");
  Required<1> required({"verdict"});
  members(in, depth, [&](std::string_view key, value member) {
    if (key == "verdict") {
      reading.verdict = enum_of<Verdict>(member, key, &verdict_from_string);
      required.saw(key);
    } else if (key == "summary") {
      reading.summary = string_of(member, key);
    } else if (key == "evidence") {
      reading.evidence = strings_of(member, key, depth);
    } else if (key == "warnings") {
      reading.warnings = strings_of(member, key, depth);
    } else if (key == "expiring") {
      reading.expiring = expiries_of(member, key, depth);
    } else {
      return false;
    }
    return true;
  });
  required.check();
}

void addresses_of(value item, int depth, CycleResult& cycle) {
  object in = object_of(item, "field \"addresses\"");
  members(in, depth, [&](std::string_view key, value member) {
    if (key == "recursive") {
      cycle.recursive_addresses = strings_of(member, key, depth);
    } else if (key == "authoritative") {
      cycle.authoritative_addresses = strings_of(member, key, depth);
    } else if (key == "last_known") {
      cycle.last_known_used.addresses = strings_of(member, key, depth);
    } else {
      return false;
    }
    return true;
  });
}

void check_version(int version) {
  if (version < kOldestCycleSchemaVersion || version > kCycleSchemaVersion) {
    throw std::invalid_argument(
        fmt::format("unsupported schema_version {} (this build reads {} to {})", version,
                    kOldestCycleSchemaVersion, kCycleSchemaVersion));
  }
}

}  // namespace

CycleResult cycle_from_json(object& in, int depth) {
  CycleResult cycle;
  Required<6> required(
      {"schema_version", "domain", "started_at", "duration_us", "reading", "addresses"});
  bool has_results = false;
  members(in, depth, [&](std::string_view key, value member) {
    if (key == "schema_version") {
      check_version(integer<int>(member, key));
    } else if (key == "domain") {
      cycle.domain = string_of(member, key);
    } else if (key == "started_at") {
      const auto started = parse_time(string_of(member, key));
      if (!started) {
        throw std::invalid_argument("field \"started_at\" is not an RFC 3339 UTC time");
      }
      cycle.started_at = *started;
    } else if (key == "duration_us") {
      cycle.duration = std::chrono::microseconds(integer<int64_t>(member, key));
    } else if (key == "reading") {
      reading_of(member, depth + 1, cycle.reading);
    } else if (key == "addresses") {
      addresses_of(member, depth + 1, cycle);
    } else if (key == "nameservers") {
      cycle.nameservers = nameservers_of(member, key, depth);
    } else if (key == "last_known_nameservers") {
      cycle.last_known_used.nameservers = nameservers_of(member, key, depth);
    } else if (key == "results") {
      cycle.results.clear();
      elements(member, key, depth,
               [&](value item) { cycle.results.push_back(probe_result_of(item, depth + 2)); });
      has_results = true;
    } else {
      return false;
    }
    required.saw(key);
    return true;
  });
  required.check();
  if (!has_results) {
    throw std::invalid_argument("missing field \"results\"");
  }
  return cycle;
}

CycleResult cycle_from_json(std::string_view text) {
  simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(text);
  simdjson::ondemand::document document;
  json_walk::check(parser.iterate(padded).get(document));
  object in;
  const auto error = document.get_object().get(in);
  if (error == simdjson::INCORRECT_TYPE) {
    throw std::invalid_argument("a cycle must be an object");
  }
  json_walk::check(error);
  CycleResult cycle = cycle_from_json(in, 1);
  json_walk::check_end(document);
  return cycle;
}

}  // namespace vantage
