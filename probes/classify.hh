#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "result.hh"

namespace vantage {

// The one place native error codes become failure classes. Never classify by message text.

// A socket errno from connect(), send() or recv().
Failure classify_errno(int error);

// A DNS response code (RFC 1035 / 6895); NoError maps to None.
Failure classify_rcode(int rcode);

// A DNS response: its rcode's class, unless it is a SERVFAIL whose Extended DNS Errors say DNSSEC
// validation failed; then the first such error's class, and its INFO-CODE as the native code.
struct DnsClassified {
  Failure failure = Failure::None;
  NativeKind native_kind = NativeKind::Rcode;
  int native_code = 0;
  // A failing response's Extended DNS Error that says why: the one that decided the class, else
  // the first. A resolver's own words on why it failed are the best evidence there is.
  std::optional<ExtendedError> explanation;
};
DnsClassified classify_dns_response(const DnsDetails& details);

// An ARES_E* status from c-ares for an exchange that got no usable response.
Failure classify_ares_status(int status);

// A finished curl transfer: its CURLcode, CURLINFO_OS_ERRNO and CURLINFO_SSL_VERIFYRESULT (an
// X509_V_ERR_* value), and whether TCP connect and the TLS handshake had completed.
struct CurlOutcome {
  int curl_code = 0;
  long os_errno = 0;
  long verify_result = 0;
  bool connected = false;
  bool tls_done = false;
};
struct Classified {
  Failure failure = Failure::None;
  Phase phase = Phase::Response;
};
Classified classify_curl(const CurlOutcome& outcome);

}  // namespace vantage
