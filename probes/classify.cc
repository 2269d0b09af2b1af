#include "classify.hh"

#include <ares.h>
#include <arpa/nameser.h>
#include <curl/curl.h>
#include <openssl/x509_vfy.h>

#include <cerrno>

#include "dnssec_wire.hh"

namespace vantage {

Failure classify_errno(int error) {
  switch (error) {
    case 0:
      return Failure::None;
    case ETIMEDOUT:
      return Failure::Timeout;
    case ENETUNREACH:
    case ENETDOWN:
      return Failure::NetUnreachable;
    case EHOSTUNREACH:
    case EHOSTDOWN:
    // An "unreachable"/"prohibit" route or a filter answering with ICMP admin-prohibited.
    case EACCES:
    case EPERM:
      return Failure::HostUnreachable;
    case ECONNREFUSED:
      return Failure::ConnRefused;
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
      return Failure::ConnReset;
    default:
      return Failure::Internal;
  }
}

Failure classify_rcode(int rcode) {
  switch (rcode) {
    case ns_r_noerror:
      return Failure::None;
    case ns_r_nxdomain:
      return Failure::NxDomain;
    case ns_r_servfail:
      return Failure::ServFail;
    case ns_r_refused:
      return Failure::Refused;
    default:
      return Failure::BadResponse;
  }
}

DnsClassified classify_dns_response(const DnsDetails& details) {
  const Failure by_rcode = classify_rcode(details.rcode);
  if (by_rcode == Failure::ServFail) {
    for (const auto& error : details.extended_errors) {
      if (const auto dnssec = dnssec_failure_of(error.code)) {
        return {*dnssec, NativeKind::Ede, error.code, error};
      }
    }
  }
  DnsClassified classified{by_rcode, NativeKind::Rcode, details.rcode, std::nullopt};
  if (by_rcode != Failure::None && !details.extended_errors.empty()) {
    classified.explanation = details.extended_errors.front();
  }
  return classified;
}

Failure classify_ares_status(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return Failure::None;
    case ARES_ETIMEOUT:
      return Failure::Timeout;
    case ARES_ECONNREFUSED:
      return Failure::ConnRefused;
    case ARES_ENOTFOUND:
      return Failure::NxDomain;
    case ARES_ENODATA:
      return Failure::NoData;
    case ARES_ESERVFAIL:
      return Failure::ServFail;
    case ARES_EREFUSED:
      return Failure::Refused;
    case ARES_EBADRESP:
    case ARES_EFORMERR:
    case ARES_ENOTIMP:
      return Failure::BadResponse;
    default:
      return Failure::Internal;
  }
}

namespace {

Failure classify_verify_result(long verify_result) {
  switch (verify_result) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Failure::CertExpired;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    // A rejected peer whose chain verified cleanly failed curl's own name check.
    case X509_V_OK:
      return Failure::CertNameMismatch;
    default:
      return Failure::CertUntrusted;
  }
}

}  // namespace

Classified classify_curl(const CurlOutcome& outcome) {
  const Phase after_connect = outcome.tls_done ? Phase::Response : Phase::Tls;
  const Phase current = outcome.connected ? after_connect : Phase::Connect;
  switch (static_cast<CURLcode>(outcome.curl_code)) {
    case CURLE_OK:
      return {Failure::None, Phase::Response};
    case CURLE_COULDNT_CONNECT: {
      const Failure failure = classify_errno(static_cast<int>(outcome.os_errno));
      return {failure == Failure::None ? Failure::ConnRefused : failure, Phase::Connect};
    }
    case CURLE_OPERATION_TIMEDOUT:
      return {Failure::Timeout, current};
    case CURLE_PEER_FAILED_VERIFICATION:
      return {classify_verify_result(outcome.verify_result), Phase::Tls};
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return {Failure::TlsHandshake, Phase::Tls};
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
      return {Failure::Internal, Phase::Tls};
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      return {Failure::ConnReset, current};
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
      return {Failure::BadResponse, Phase::Response};
    default:
      return {Failure::Internal, current};
  }
}

}  // namespace vantage
