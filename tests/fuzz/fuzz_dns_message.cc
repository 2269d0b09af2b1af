// The DNS response parser: every answer a probed server (or anyone spoofing it) sends.
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "classify.hh"
#include "dns_message.hh"
#include "dnssec_wire.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // c-ares hands over at most one TCP message, whose length field is 16 bits.
  if (size > 65535) {
    return 0;
  }
  const auto details = vantage::parse_response(data, static_cast<int>(size));
  if (details) {
    // What the probes do next with a parsed answer.
    (void)vantage::addresses_of(details->answers, details->qname);
    for (const auto& record : details->authority) {
      (void)vantage::same_name(record.name, details->qname);
      (void)vantage::type_name(record.type);
    }
    // What the probes make of its DNSSEC parts.
    (void)vantage::classify_dns_response(*details);
    (void)vantage::signature_summary(*details, details->qtype, std::chrono::system_clock::now());
    (void)vantage::delegation_signer_summary(*details);
  }
  return 0;
}
