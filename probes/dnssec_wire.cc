#include "dnssec_wire.hh"

#include <ares.h>
#include <fmt/format.h>

#include <memory>

#include "printable.hh"
#include "result_json.hh"
#include "wire_integers.hh"

namespace vantage {
namespace {

constexpr uint16_t kOptionExtendedError = 15;
constexpr size_t kMaxExtraText = 512;  // Unbound's reasons run to about 150 bytes

// RRSIG times are seconds since 1970 modulo 2^32 (RFC 4034 section 3.1.5); read as plain
// unsigned seconds they hold until 2106.
std::chrono::sys_seconds time_of(const unsigned char* p) {
  return std::chrono::sys_seconds(std::chrono::seconds(read32(p)));
}

// The signer's name inside an RRSIG's RDATA: it must end within the RDATA.
std::optional<std::string> name_within(const Rdata& rdata, const unsigned char* at) {
  char* raw = nullptr;
  long encoded_length = 0;
  if (ares_expand_name(at, rdata.message, rdata.message_length, &raw, &encoded_length) !=
      ARES_SUCCESS) {
    return std::nullopt;
  }
  std::unique_ptr<char, decltype(&ares_free_string)> owned(raw, &ares_free_string);
  if (at + encoded_length > rdata.data + rdata.length) {
    return std::nullopt;
  }
  return std::string(owned.get());
}

std::string hex(const unsigned char* data, size_t length) {
  std::string text;
  text.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) {
    text += fmt::format("{:02x}", data[i]);
  }
  return text;
}

// RFC 4034 appendix B. (Algorithm 1, RSA/MD5, has a different rule; it is deprecated and
// validators no longer accept it, so a tag computed this way for it names nothing anyway.)
uint16_t key_tag(const unsigned char* data, size_t length) {
  uint32_t sum = 0;
  for (size_t i = 0; i < length; ++i) {
    sum += (i & 1) != 0 ? data[i] : static_cast<uint32_t>(data[i]) << 8;
  }
  sum += (sum >> 16) & 0xffff;
  return static_cast<uint16_t>(sum & 0xffff);
}

}  // namespace

std::optional<Signature> parse_rrsig(const std::string& owner, const Rdata& rdata) {
  // type covered 2, algorithm 1, labels 1, original TTL 4, expiration 4, inception 4, key tag 2,
  // then the signer's name and the signature.
  constexpr uint16_t kFixed = 18;
  if (rdata.length < kFixed + 1) {
    return std::nullopt;
  }
  const unsigned char* p = rdata.data;
  auto signer = name_within(rdata, p + kFixed);
  if (!signer) {
    return std::nullopt;
  }
  Signature signature;
  signature.owner = owner;
  signature.covered = read16(p);
  signature.algorithm = p[2];
  signature.expiration = time_of(p + 8);
  signature.inception = time_of(p + 12);
  signature.key_tag = read16(p + 16);
  signature.signer = std::move(*signer);
  return signature;
}

std::optional<DelegationSigner> parse_ds(const std::string& owner, const Rdata& rdata) {
  constexpr uint16_t kFixed = 4;  // key tag 2, algorithm 1, digest type 1, then the digest
  if (rdata.length <= kFixed) {
    return std::nullopt;
  }
  const unsigned char* p = rdata.data;
  return DelegationSigner{owner, read16(p), p[2], p[3], hex(p + kFixed, rdata.length - kFixed)};
}

std::optional<ZoneKey> parse_dnskey(const std::string& owner, const Rdata& rdata) {
  constexpr uint16_t kFixed = 4;  // flags 2, protocol 1 (always 3), algorithm 1, then the key
  if (rdata.length <= kFixed || rdata.data[2] != 3) {
    return std::nullopt;
  }
  const unsigned char* p = rdata.data;
  return ZoneKey{owner, read16(p), p[3], key_tag(p, rdata.length)};
}

std::optional<std::vector<ExtendedError>> parse_extended_errors(const Rdata& rdata) {
  std::vector<ExtendedError> errors;
  const unsigned char* at = rdata.data;
  const unsigned char* end = rdata.data + rdata.length;
  while (at < end) {
    if (end - at < 4) {
      return std::nullopt;
    }
    const uint16_t code = read16(at);
    const uint16_t length = read16(at + 2);
    at += 4;
    if (end - at < length) {
      return std::nullopt;
    }
    if (code == kOptionExtendedError) {
      if (length < 2) {
        return std::nullopt;
      }
      // EXTRA-TEXT should be UTF-8 without a terminating NUL; it is the one text taken from the
      // wire as is, so it is cut to a bound and escaped like any foreign text before it can
      // reach a log line, a terminal or the JSON writer (which refuses invalid UTF-8).
      std::string_view text(reinterpret_cast<const char*>(at + 2), length - 2);
      while (!text.empty() && text.back() == '\0') {
        text.remove_suffix(1);
      }
      errors.push_back({read16(at), printable(text.substr(0, kMaxExtraText))});
    }
    at += length;
  }
  return errors;
}

std::string signature_summary(const DnsDetails& details, uint16_t type,
                              std::chrono::system_clock::time_point now) {
  for (const auto& signature : details.signatures) {
    if (signature.covered != type) {
      continue;
    }
    const std::string head = fmt::format("signed by key {} (algorithm {}) of {}", signature.key_tag,
                                         signature.algorithm, signature.signer);
    if (signature.expiration < now) {
      return fmt::format("{}, expired {}", head, format_seconds(signature.expiration));
    }
    if (signature.inception > now) {
      return fmt::format("{}, not valid before {}", head, format_seconds(signature.inception));
    }
    return fmt::format("{} until {}", head, format_seconds(signature.expiration));
  }
  return "";
}

std::string zone_key_summary(const DnsDetails& details) {
  if (details.zone_keys.empty()) {
    return "no DNSKEY records";
  }
  // Flags bit 15 (value 1): Secure Entry Point, the key a DS usually names (RFC 4034 2.1.1).
  constexpr uint16_t kSecureEntryPoint = 1;
  std::string text = details.zone_keys.size() == 1 ? "key " : "keys ";
  for (const ZoneKey& key : details.zone_keys) {
    text += fmt::format("{}{} (algorithm {}{})", &key == &details.zone_keys.front() ? "" : ", ",
                        key.key_tag, key.algorithm,
                        (key.flags & kSecureEntryPoint) != 0 ? ", SEP" : "");
  }
  return text;
}

std::string delegation_signer_summary(const DnsDetails& details) {
  std::string text;
  for (const auto& signer : details.delegation_signers) {
    text += fmt::format("{}DS for key {} (algorithm {})", text.empty() ? "" : ", ", signer.key_tag,
                        signer.algorithm);
  }
  return text;
}

std::optional<Failure> dnssec_failure_of(uint16_t code) {
  switch (code) {
    case 5:   // DNSSEC Indeterminate
    case 6:   // DNSSEC Bogus
    case 10:  // RRSIGs Missing
    case 11:  // No Zone Key Bit Set
    case 12:  // NSEC Missing
    case 25:  // Signature Expired before Valid: a signing window that ends before it begins
      return Failure::DnssecBogus;
    case 7:  // Signature Expired
      return Failure::SignatureExpired;
    case 8:
      return Failure::SignatureNotYetValid;
    case 9:
      return Failure::DnskeyMissing;
    default:
      return std::nullopt;
  }
}

}  // namespace vantage
