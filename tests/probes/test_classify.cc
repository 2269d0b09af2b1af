#include <ares.h>
#include <arpa/nameser.h>
#include <curl/curl.h>
#include <openssl/x509_vfy.h>

#include <catch2/catch.hpp>
#include <cerrno>

#include "classify.hh"

using namespace vantage;

TEST_CASE("socket errnos map to the failure an operator correlates on", "[classify]") {
  CHECK(classify_errno(0) == Failure::None);
  CHECK(classify_errno(ENETUNREACH) == Failure::NetUnreachable);
  CHECK(classify_errno(EHOSTUNREACH) == Failure::HostUnreachable);
  CHECK(classify_errno(ECONNREFUSED) == Failure::ConnRefused);
  CHECK(classify_errno(ECONNRESET) == Failure::ConnReset);
  CHECK(classify_errno(ETIMEDOUT) == Failure::Timeout);
  CHECK(classify_errno(EMFILE) == Failure::Internal);
}

TEST_CASE("only unreachable and timed-out probes count as network failures", "[classify]") {
  CHECK(is_network_failure(Failure::Timeout));
  CHECK(is_network_failure(Failure::NetUnreachable));
  CHECK(is_network_failure(Failure::HostUnreachable));
  CHECK_FALSE(is_network_failure(Failure::ConnRefused));
  CHECK_FALSE(is_network_failure(Failure::ServFail));
}

TEST_CASE("DNS rcodes map to DNS failure classes", "[classify]") {
  CHECK(classify_rcode(ns_r_noerror) == Failure::None);
  CHECK(classify_rcode(ns_r_nxdomain) == Failure::NxDomain);
  CHECK(classify_rcode(ns_r_servfail) == Failure::ServFail);
  CHECK(classify_rcode(ns_r_refused) == Failure::Refused);
  CHECK(classify_rcode(ns_r_formerr) == Failure::BadResponse);
  CHECK(rcode_name(ns_r_servfail) == "SERVFAIL");
}

TEST_CASE("c-ares statuses map to failure classes", "[classify]") {
  CHECK(classify_ares_status(ARES_ETIMEOUT) == Failure::Timeout);
  CHECK(classify_ares_status(ARES_ECONNREFUSED) == Failure::ConnRefused);
  CHECK(classify_ares_status(ARES_ESERVFAIL) == Failure::ServFail);
  CHECK(classify_ares_status(ARES_ENOTFOUND) == Failure::NxDomain);
}

TEST_CASE("curl connect failures are classified by the OS errno at Connect", "[classify]") {
  const auto refused = classify_curl({CURLE_COULDNT_CONNECT, ECONNREFUSED, 0, false, false});
  CHECK(refused.failure == Failure::ConnRefused);
  CHECK(refused.phase == Phase::Connect);
  const auto unreachable = classify_curl({CURLE_COULDNT_CONNECT, ENETUNREACH, 0, false, false});
  CHECK(unreachable.failure == Failure::NetUnreachable);
}

TEST_CASE("curl certificate failures become the three certificate classes", "[classify]") {
  CHECK(classify_curl({CURLE_PEER_FAILED_VERIFICATION, 0, X509_V_ERR_CERT_HAS_EXPIRED, true, false})
            .failure == Failure::CertExpired);
  CHECK(classify_curl({CURLE_PEER_FAILED_VERIFICATION, 0,
                       X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, true, false})
            .failure == Failure::CertUntrusted);
  CHECK(classify_curl({CURLE_PEER_FAILED_VERIFICATION, 0, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
                       true, false})
            .failure == Failure::CertUntrusted);
  const auto mismatch = classify_curl({CURLE_PEER_FAILED_VERIFICATION, 0, X509_V_OK, true, false});
  CHECK(mismatch.failure == Failure::CertNameMismatch);
  CHECK(mismatch.phase == Phase::Tls);
}

TEST_CASE("curl timeouts report the phase the transfer had reached", "[classify]") {
  CHECK(classify_curl({CURLE_OPERATION_TIMEDOUT, 0, 0, false, false}).phase == Phase::Connect);
  CHECK(classify_curl({CURLE_OPERATION_TIMEDOUT, 0, 0, true, false}).phase == Phase::Tls);
  const auto after_tls = classify_curl({CURLE_OPERATION_TIMEDOUT, 0, 0, true, true});
  CHECK(after_tls.failure == Failure::Timeout);
  CHECK(after_tls.phase == Phase::Response);
  CHECK(classify_curl({CURLE_SSL_CONNECT_ERROR, 0, 0, true, false}).failure ==
        Failure::TlsHandshake);
  CHECK(classify_curl({CURLE_GOT_NOTHING, 0, 0, true, true}).failure == Failure::ConnReset);
}
