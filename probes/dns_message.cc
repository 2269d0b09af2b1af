#include "dns_message.hh"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <strings.h>
#include <memory>

namespace vantage {
namespace {

constexpr int kHeaderSize = 12;
constexpr int kMaxUdpSize = 1232;  // the DNS flag day 2020 EDNS buffer size

uint16_t read16(const unsigned char* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t read32(const unsigned char* p) {
  return (static_cast<uint32_t>(read16(p)) << 16) | read16(p + 2);
}

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

std::optional<DnsRecord> parse_record(const unsigned char*& at, const unsigned char* message,
                                      int length) {
  const unsigned char* end = message + length;
  auto owner = expand_name(at, message, length);
  if (!owner || end - at < 10) {
    return std::nullopt;
  }
  DnsRecord record;
  record.name = std::move(*owner);
  record.type = read16(at);
  record.ttl = read32(at + 4);
  const uint16_t rdlength = read16(at + 8);
  at += 10;
  if (end - at < rdlength) {
    return std::nullopt;
  }
  const unsigned char* rdata = at;
  char text[INET6_ADDRSTRLEN] = {};
  if (record.type == kTypeA && rdlength == 4) {
    record.data = inet_ntop(AF_INET, rdata, text, sizeof text);
  } else if (record.type == kTypeAaaa && rdlength == 16) {
    record.data = inet_ntop(AF_INET6, rdata, text, sizeof text);
  } else if (record.type == kTypeNs || record.type == kTypeCname || record.type == kTypeSoa) {
    const unsigned char* name_at = rdata;
    auto target = expand_name(name_at, message, length);
    if (!target) {
      return std::nullopt;
    }
    record.data = std::move(*target);
  }
  at += rdlength;
  return record;
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
                        kMaxUdpSize) != ARES_SUCCESS) {
    return {};
  }
  std::unique_ptr<unsigned char, decltype(&ares_free_string)> owned(raw, &ares_free_string);
  return {owned.get(), owned.get() + length};
}

std::optional<DnsDetails> parse_response(const unsigned char* message, int length) {
  if (message == nullptr || length < kHeaderSize) {
    return std::nullopt;
  }
  DnsDetails details;
  const uint16_t flags = read16(message + 2);
  details.authoritative = (flags & 0x0400) != 0;
  details.truncated = (flags & 0x0200) != 0;
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
      auto record = parse_record(at, message, length);
      if (!record) {
        return std::nullopt;
      }
      if (record->type != 41) {  // the EDNS OPT pseudo-record is not data
        sections[section]->push_back(std::move(*record));
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
