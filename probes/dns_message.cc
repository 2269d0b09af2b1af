#include "dns_message.hh"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <strings.h>
#include <memory>

#include "dnssec_wire.hh"
#include "wire_integers.hh"

namespace vantage {
namespace {

constexpr int kHeaderSize = 12;

// Expands a possibly compressed name at `at`; advances `at` past its encoded form.
std::optional<std::string> expand_name(const unsigned char*& at, const unsigned char* message,
                                       int length) {
  char* raw = nullptr;
  long encoded_length = 0;
  if (ares_expand_name(at, message, length, &raw, &encoded_length) != ARES_SUCCESS) {
    return std::nullopt;
  }
  std::unique_ptr<char, decltype(&ares_free_string)> owned(raw, &ares_free_string);
  at += encoded_length;
  return std::string(owned.get());
}

// One resource record as it sits in a message: owner, header fields and where its RDATA is.
struct WireRecord {
  std::string owner;
  uint16_t type = 0;
  uint16_t klass = 0;  // for OPT: the sender's UDP payload size
  uint32_t ttl = 0;    // for OPT: extended rcode, version and flags
  Rdata rdata;
};

std::optional<WireRecord> read_record(const unsigned char*& at, const unsigned char* message,
                                      int length) {
  const unsigned char* end = message + length;
  auto owner = expand_name(at, message, length);
  if (!owner || end - at < 10) {
    return std::nullopt;
  }
  WireRecord record;
  record.owner = std::move(*owner);
  record.type = read16(at);
  record.klass = read16(at + 2);
  record.ttl = read32(at + 4);
  const uint16_t rdlength = read16(at + 8);
  at += 10;
  if (end - at < rdlength) {
    return std::nullopt;
  }
  record.rdata = {message, length, at, rdlength};
  at += rdlength;
  return record;
}

std::optional<DnsRecord> data_record(const WireRecord& wire) {
  DnsRecord record;
  record.name = wire.owner;
  record.type = wire.type;
  record.ttl = wire.ttl;
  const unsigned char* rdata = wire.rdata.data;
  const uint16_t rdlength = wire.rdata.length;
  char text[INET6_ADDRSTRLEN] = {};
  if (record.type == kTypeA && rdlength == 4) {
    record.data = inet_ntop(AF_INET, rdata, text, sizeof text);
  } else if (record.type == kTypeAaaa && rdlength == 16) {
    record.data = inet_ntop(AF_INET6, rdata, text, sizeof text);
  } else if (record.type == kTypeNs || record.type == kTypeCname || record.type == kTypeSoa) {
    const unsigned char* name_at = rdata;
    auto target = expand_name(name_at, wire.rdata.message, wire.rdata.message_length);
    if (!target) {
      return std::nullopt;
    }
    record.data = std::move(*target);
  }
  return record;
}

// Files one record of `section` into `details`; false when its RDATA is malformed.
bool file_record(const WireRecord& wire, std::vector<DnsRecord>& section, DnsDetails& details) {
  switch (wire.type) {
    case kTypeOpt: {
      auto errors = parse_extended_errors(wire.rdata);
      if (!errors) {
        return false;
      }
      details.rcode |= static_cast<int>((wire.ttl >> 24) << 4);  // the extended rcode's high bits
      details.extended_errors = std::move(*errors);
      return true;
    }
    case kTypeRrsig: {
      auto signature = parse_rrsig(wire.owner, wire.rdata);
      if (signature) {
        details.signatures.push_back(std::move(*signature));
      }
      return signature.has_value();
    }
    case kTypeDs: {
      auto signer = parse_ds(wire.owner, wire.rdata);
      if (signer) {
        details.delegation_signers.push_back(std::move(*signer));
      }
      return signer.has_value();
    }
    case kTypeDnskey: {
      auto key = parse_dnskey(wire.owner, wire.rdata);
      if (key) {
        details.zone_keys.push_back(std::move(*key));
      }
      return key.has_value();
    }
    default: {
      auto record = data_record(wire);
      if (record) {
        section.push_back(std::move(*record));
      }
      return record.has_value();
    }
  }
}

// ares_create_query ends the query with its OPT record (11 bytes when it carries no options);
// the DO flag is the top bit of the flags in that record's TTL field (RFC 3225).
bool set_dnssec_ok(std::vector<unsigned char>& query) {
  constexpr size_t kOptSize = 11;
  constexpr size_t kFlagsHigh = 7;
  if (query.size() < kHeaderSize + kOptSize || read16(query.data() + 10) != 1) {
    return false;
  }
  unsigned char* opt = query.data() + query.size() - kOptSize;
  if (opt[0] != 0 || read16(opt + 1) != kTypeOpt) {
    return false;
  }
  opt[kFlagsHigh] |= 0x80;
  return true;
}

}  // namespace

std::string type_name(uint16_t type) {
  switch (type) {
    case kTypeA:
      return "A";
    case kTypeNs:
      return "NS";
    case kTypeCname:
      return "CNAME";
    case kTypeSoa:
      return "SOA";
    case kTypeAaaa:
      return "AAAA";
    case kTypeDs:
      return "DS";
    case kTypeRrsig:
      return "RRSIG";
    case kTypeDnskey:
      return "DNSKEY";
    default:
      return "TYPE" + std::to_string(type);
  }
}

std::vector<unsigned char> build_query(const std::string& name, uint16_t type,
                                       bool recursion_desired) {
  unsigned char* raw = nullptr;
  int length = 0;
  // The id is replaced by c-ares when it sends the query.
  if (ares_create_query(name.c_str(), ns_c_in, type, 0, recursion_desired ? 1 : 0, &raw, &length,
                        kEdnsPayloadSize) != ARES_SUCCESS) {
    return {};
  }
  std::unique_ptr<unsigned char, decltype(&ares_free_string)> owned(raw, &ares_free_string);
  std::vector<unsigned char> query(owned.get(), owned.get() + length);
  if (!set_dnssec_ok(query)) {
    return {};
  }
  return query;
}

std::optional<DnsDetails> parse_response(const unsigned char* message, int length) {
  if (message == nullptr || length < kHeaderSize) {
    return std::nullopt;
  }
  DnsDetails details;
  const uint16_t flags = read16(message + 2);
  details.authoritative = (flags & 0x0400) != 0;
  details.truncated = (flags & 0x0200) != 0;
  details.authenticated = (flags & 0x0020) != 0;
  details.rcode = flags & 0x000f;
  const uint16_t questions = read16(message + 4);
  const uint16_t counts[3] = {read16(message + 6), read16(message + 8), read16(message + 10)};

  const unsigned char* at = message + kHeaderSize;
  const unsigned char* end = message + length;
  for (uint16_t i = 0; i < questions; ++i) {
    auto qname = expand_name(at, message, length);
    if (!qname || end - at < 4) {
      return std::nullopt;
    }
    if (i == 0) {
      details.qname = std::move(*qname);
      details.qtype = read16(at);
    }
    at += 4;
  }
  std::vector<DnsRecord>* sections[3] = {&details.answers, &details.authority, &details.additional};
  for (int section = 0; section < 3; ++section) {
    for (uint16_t i = 0; i < counts[section]; ++i) {
      auto record = read_record(at, message, length);
      if (!record || !file_record(*record, *sections[section], details)) {
        return std::nullopt;
      }
    }
  }
  return details;
}

bool same_name(const std::string& a, const std::string& b) {
  auto trim = [](const std::string& name) {
    return (!name.empty() && name.back() == '.') ? name.substr(0, name.size() - 1) : name;
  };
  const std::string left = trim(a);
  const std::string right = trim(b);
  return left.size() == right.size() && strcasecmp(left.c_str(), right.c_str()) == 0;
}

std::vector<std::string> addresses_of(const std::vector<DnsRecord>& records,
                                      const std::string& owner) {
  std::vector<std::string> addresses;
  for (const auto& record : records) {
    if ((record.type == kTypeA || record.type == kTypeAaaa) && same_name(record.name, owner)) {
      addresses.push_back(record.data);
    }
  }
  return addresses;
}

}  // namespace vantage
