#include "http.hh"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>

#include "classify.hh"
#include "curl_driver.hh"
#include "result_json.hh"
#include "target.hh"

namespace vantage {
namespace {

constexpr size_t kMaxBodyBytes = 1 << 20;  // enough for a content check; the rest is discarded

std::string name_text(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return {};
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string time_text(const ASN1_TIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
    return {};
  }
  return format_seconds(std::chrono::sys_seconds(std::chrono::seconds(timegm(&parts))));
}

void describe_certificate(X509* certificate, TlsDetails& tls) {
  tls.subject = name_text(X509_get_subject_name(certificate));
  tls.issuer = name_text(X509_get_issuer_name(certificate));
  tls.not_after = time_text(X509_get0_notAfter(certificate));
}

// The certificate of `ssl`'s verified chain whose notAfter comes first, when the chain verified
// (OpenSSL verifies even when it need not, as for an `insecure` target, and keeps the chain it
// tried to build when that fails). A chain that does not verify is not one any client relies on:
// it may carry stale certificates (an old cross-signed root) that would be warned of for ever;
// the leaf still is.
void describe_earliest_expiry(const SSL* ssl, TlsDetails& tls) {
  if (SSL_get_verify_result(ssl) != X509_V_OK) {
    return;
  }
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  X509* earliest = nullptr;
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* certificate = sk_X509_value(chain, i);
    if (earliest == nullptr ||
        ASN1_TIME_compare(X509_get0_notAfter(certificate), X509_get0_notAfter(earliest)) < 0) {
      earliest = certificate;
    }
  }
  if (earliest != nullptr) {
    tls.earliest_subject = name_text(X509_get_subject_name(earliest));
    tls.earliest_not_after = time_text(X509_get0_notAfter(earliest));
  }
}

// Where the OpenSSL callbacks find the probe that owns a connection's SSL_CTX.
int probe_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// A host as a URL holds it: an IPv6 address in brackets.
std::string url_host(const std::string& name) {
  return name.find(':') == std::string::npos ? name : "[" + name + "]";
}

class HttpProbe {
 public:
  HttpProbe(const HttpRequest& request, ProbeDone done)
      : request_(request), done_(std::move(done)), easy_(curl_easy_init(), &curl_easy_cleanup) {
    result_.check = request.tls ? Check::Https : Check::Http;
    result_.target = request.address.to_string();
    result_.subject = fmt::format("{}://{}:{}{}", request.tls ? "https" : "http",
                                  url_host(request.domain), request.address.port(), request.path);
    result_.phase = Phase::Connect;
  }

  static void start(CurlMulti& multi, std::unique_ptr<HttpProbe> self) {
    std::shared_ptr<HttpProbe> probe(std::move(self));
    if (auto error = probe->configure(); !error.empty()) {
      multi.loop().post([probe, error] { probe->fail_setup(error); });
      return;
    }
    CURL* easy = probe->easy_.get();
    multi.add(easy, [probe](CURLcode code) { probe->report(code); });
  }

 private:
  // Returns why the transfer cannot be set up, or nothing.
  std::string configure() {
    if (!easy_) {
      return "curl_easy_init failed";
    }
    CURL* easy = easy_.get();
    url_ = result_.subject;
    // Pin the connection to one address while SNI, Host and the certificate check keep the
    // domain: CONNECT_TO is per transfer, unlike CURLOPT_RESOLVE, which writes the multi
    // handle's shared DNS cache. A target named by its address is in the URL already.
    if (!is_address_name(request_.domain)) {
      connect_to_.reset(curl_slist_append(
          nullptr, fmt::format("{}:{}:{}:{}", request_.domain, request_.address.port(),
                               url_host(request_.address.ip()), request_.address.port())
                       .c_str()));
      curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect_to_.get());
    }
    curl_easy_setopt(easy, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, request_.tls ? "https" : "http");
    // Never through a proxy from the environment (http_proxy): the probe is of this address.
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request_.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "vantage-agent/" VANTAGE_VERSION);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &HttpProbe::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, &HttpProbe::on_ssl_context);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, this);
    if (!request_.ca_file.empty()) {
      curl_easy_setopt(easy, CURLOPT_CAINFO, request_.ca_file.c_str());
    }
    // Debian's libcurl also has a default CA directory, and with one set curl re-reads and
    // re-parses the whole store for every connection instead of caching it in the multi handle:
    // 40 ms of CPU per probe with the system store. The bundle file alone is complete on Debian.
    // Without the directory a ca_file is also the only CA trusted, as it must be to pin.
    curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
    if (request_.insecure) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return {};
  }

  void fail_setup(const std::string& detail) {
    result_.failure = Failure::Internal;
    result_.detail = detail;
    done_(std::move(result_));
  }

  // CURLOPT_WRITEFUNCTION
  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    auto* probe = static_cast<HttpProbe*>(self);
    const size_t bytes = size * count;
    if (!probe->request_.body_regex.empty() && probe->body_.size() < kMaxBodyBytes) {
      probe->body_.append(data, std::min(bytes, kMaxBodyBytes - probe->body_.size()));
    }
    return bytes;
  }

  // CURLOPT_SSL_CTX_FUNCTION: curl creates one SSL_CTX per connection; we watch its handshake
  // to keep the certificate even when verification rejects it (that is when it matters most).
  static CURLcode on_ssl_context(CURL* /*easy*/, void* context, void* self) {
    auto* ssl_context = static_cast<SSL_CTX*>(context);
    SSL_CTX_set_ex_data(ssl_context, probe_index(), self);
    SSL_CTX_set_verify(ssl_context, SSL_CTX_get_verify_mode(ssl_context), &on_verify);
    SSL_CTX_set_info_callback(ssl_context, &on_handshake_info);
    // curl checks the name only after the handshake and then reports X509_V_ERR_UNSPECIFIED;
    // asking OpenSSL to check it during verification yields X509_V_ERR_HOSTNAME_MISMATCH, a
    // code that says what went wrong.
    const auto* probe = static_cast<const HttpProbe*>(self);
    if (!probe->request_.insecure) {
      // A target named by its address must be in the certificate's IP addresses, not its names.
      X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ssl_context);
      const std::string& name = probe->request_.domain;
      if (is_address_name(name)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
      }
    }
    return CURLE_OK;
  }

  static HttpProbe* owner(const SSL* ssl) {
    return static_cast<HttpProbe*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), probe_index()));
  }

  // SSL_CTX_set_verify callback: never changes OpenSSL's decision, only records the leaf.
  static int on_verify(int preverify_ok, X509_STORE_CTX* store) {
    const auto* ssl = static_cast<const SSL*>(
        X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    X509* certificate = X509_STORE_CTX_get_current_cert(store);
    if (ssl != nullptr && certificate != nullptr && X509_STORE_CTX_get_error_depth(store) == 0) {
      if (HttpProbe* probe = owner(ssl)) {
        describe_certificate(certificate, probe->tls_);
        probe->saw_certificate_ = true;
      }
    }
    return preverify_ok;
  }

  // SSL_CTX_set_info_callback
  static void on_handshake_info(const SSL* ssl, int where, int /*ret*/) {
    if ((where & SSL_CB_HANDSHAKE_DONE) == 0) {
      return;
    }
    if (HttpProbe* probe = owner(ssl)) {
      probe->tls_.version = SSL_get_version(ssl);
      if (X509* certificate = SSL_get0_peer_certificate(ssl)) {
        describe_certificate(certificate, probe->tls_);
        probe->saw_certificate_ = true;
      }
      describe_earliest_expiry(ssl, probe->tls_);
    }
  }

  void read_timings() {
    CURL* easy = easy_.get();
    curl_off_t lookup = 0, connect = 0, handshake = 0, first_byte = 0, total = 0;
    curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
    curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect);
    curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &handshake);
    curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &first_byte);
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total);
    using std::chrono::microseconds;
    // curl's values are cumulative from the start; ours are each phase's own duration.
    result_.timings.resolve = microseconds(lookup);
    if (connect > 0) {
      result_.timings.connect = microseconds(connect - lookup);
      connected_ = true;
    }
    if (handshake > 0) {
      result_.timings.tls = microseconds(handshake - connect);
      tls_done_ = true;
    }
    // Without TLS the request follows the connect.
    const curl_off_t request_sent = request_.tls ? handshake : connect;
    if (first_byte > 0 && request_sent > 0) {
      result_.timings.first_byte = microseconds(first_byte - request_sent);
    }
    result_.timings.total = microseconds(total);
  }

  void report(CURLcode code) {
    read_timings();
    CurlOutcome outcome;
    outcome.curl_code = code;
    outcome.connected = connected_;
    outcome.tls_done = tls_done_ || !request_.tls;  // plain HTTP has no TLS phase to fail in
    curl_easy_getinfo(easy_.get(), CURLINFO_OS_ERRNO, &outcome.os_errno);
    curl_easy_getinfo(easy_.get(), CURLINFO_SSL_VERIFYRESULT, &outcome.verify_result);
    if (saw_certificate_ || !tls_.version.empty()) {
      result_.tls = tls_;
    }

    if (code != CURLE_OK) {
      const Classified classified = classify_curl(outcome);
      result_.failure = classified.failure;
      result_.phase = classified.phase;
      if (classified.failure == Failure::CertExpired ||
          classified.failure == Failure::CertUntrusted ||
          classified.failure == Failure::CertNameMismatch) {
        result_.native_code = static_cast<int>(outcome.verify_result);
        result_.native_kind = NativeKind::X509;
        result_.detail = X509_verify_cert_error_string(outcome.verify_result);
      } else if (code == CURLE_COULDNT_CONNECT && outcome.os_errno != 0) {
        result_.native_code = static_cast<int>(outcome.os_errno);
        result_.native_kind = NativeKind::Errno;
        result_.detail = std::strerror(static_cast<int>(outcome.os_errno));
      } else {
        result_.native_code = code;
        result_.native_kind = NativeKind::Curl;
        result_.detail = curl_easy_strerror(code);
      }
      finish();
      return;
    }

    long status = 0;
    curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status);
    result_.http_status = static_cast<int>(status);
    result_.phase = Phase::Response;
    if (!status_expected(static_cast<int>(status))) {
      result_.failure = Failure::HttpStatus;
      result_.native_code = static_cast<int>(status);
      result_.native_kind = NativeKind::Http;
      result_.detail = fmt::format("HTTP status {}", status);
    } else if (!request_.body_regex.found_in(body_)) {
      result_.failure = Failure::ContentMismatch;
      result_.native_code = static_cast<int>(status);
      result_.native_kind = NativeKind::Http;
      result_.detail = fmt::format("body does not match /{}/", request_.body_regex.text());
    } else {
      result_.detail = fmt::format("HTTP status {}", status);
    }
    finish();
  }

  bool status_expected(int status) const {
    if (request_.expect_status.empty()) {
      return status >= 200 && status < 400;
    }
    return std::find(request_.expect_status.begin(), request_.expect_status.end(), status) !=
           request_.expect_status.end();
  }

  void finish() { done_(std::move(result_)); }

  HttpRequest request_;
  ProbeDone done_;
  ProbeResult result_;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy_;
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> connect_to_{nullptr,
                                                                          &curl_slist_free_all};
  std::string url_;
  std::string body_;
  TlsDetails tls_;
  bool saw_certificate_ = false;
  bool connected_ = false;
  bool tls_done_ = false;
};

}  // namespace

void probe_http(CurlMulti& multi, const HttpRequest& request, ProbeDone done) {
  HttpProbe::start(multi, std::make_unique<HttpProbe>(request, std::move(done)));
}

}  // namespace vantage
