#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <vector>

// Builds DNS responses byte by byte, so tests can put exactly the header flags and sections a
// real server would (or a broken one would) on the wire.
namespace vantage::testing {

struct WireRecord {
  std::string name;
  uint16_t type;
  uint32_t ttl;
  std::string data;  // address for A/AAAA, name for NS/CNAME
};

inline void put16(std::vector<unsigned char>& out, uint16_t value) {
  out.push_back(static_cast<unsigned char>(value >> 8));
  out.push_back(static_cast<unsigned char>(value & 0xff));
}

inline void put_name(std::vector<unsigned char>& out, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) {
      dot = name.size();
    }
    out.push_back(static_cast<unsigned char>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start),
               name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
}

inline void put_record(std::vector<unsigned char>& out, const WireRecord& record) {
  put_name(out, record.name);
  put16(out, record.type);
  put16(out, 1);
  put16(out, static_cast<uint16_t>(record.ttl >> 16));
  put16(out, static_cast<uint16_t>(record.ttl & 0xffff));
  std::vector<unsigned char> rdata;
  if (record.type == 1) {
    rdata.resize(4);
    inet_pton(AF_INET, record.data.c_str(), rdata.data());
  } else if (record.type == 28) {
    rdata.resize(16);
    inet_pton(AF_INET6, record.data.c_str(), rdata.data());
  } else {
    put_name(rdata, record.data);
  }
  put16(out, static_cast<uint16_t>(rdata.size()));
  out.insert(out.end(), rdata.begin(), rdata.end());
}

struct WireResponse {
  bool authoritative = true;
  int rcode = 0;
  std::vector<WireRecord> answers, authority, additional;
};

// A response to `query` (its id and question copied) with the given flags and sections.
inline std::vector<unsigned char> make_response(const std::vector<unsigned char>& query,
                                                const WireResponse& response) {
  std::vector<unsigned char> out(query.begin(), query.begin() + 2);  // id
  const uint16_t rd = static_cast<uint16_t>(query[2] & 0x01) << 8;
  put16(out, static_cast<uint16_t>(0x8000 | (response.authoritative ? 0x0400 : 0) | rd |
                                   (response.rcode & 0x0f)));
  put16(out, 1);
  put16(out, static_cast<uint16_t>(response.answers.size()));
  put16(out, static_cast<uint16_t>(response.authority.size()));
  put16(out, static_cast<uint16_t>(response.additional.size()));
  // The question: from byte 12 to the end of qname + 4 bytes.
  size_t at = 12;
  while (at < query.size() && query[at] != 0) {
    at += query[at] + 1u;
  }
  out.insert(out.end(), query.begin() + 12, query.begin() + static_cast<long>(at + 5));
  for (const auto& record : response.answers) {
    put_record(out, record);
  }
  for (const auto& record : response.authority) {
    put_record(out, record);
  }
  for (const auto& record : response.additional) {
    put_record(out, record);
  }
  return out;
}

}  // namespace vantage::testing
