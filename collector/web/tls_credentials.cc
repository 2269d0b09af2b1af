#include "tls_credentials.hh"

#include <fmt/format.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <memory>

namespace vantage {
namespace {

gnutls_datum_t datum_of(std::string_view text) {
  // GnuTLS only reads through the pointer here.
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
          static_cast<unsigned>(text.size())};
}

std::optional<TlsPairProblem> problem(TlsPairProblem::Part part, std::string_view what, int code) {
  return TlsPairProblem{part, fmt::format("{} ({})", what, gnutls_strerror(code))};
}

std::optional<TlsPairProblem> check_certificate(std::string_view cert_pem) {
  gnutls_x509_crt_t* list = nullptr;
  unsigned count = 0;
  const gnutls_datum_t cert = datum_of(cert_pem);
  const int code = gnutls_x509_crt_list_import2(&list, &count, &cert, GNUTLS_X509_FMT_PEM, 0);
  for (unsigned i = 0; i < count; ++i) {
    gnutls_x509_crt_deinit(list[i]);
  }
  gnutls_free(list);
  if (code < 0) {
    return problem(TlsPairProblem::Part::Certificate, "holds no PEM certificate", code);
  }
  return std::nullopt;
}

std::optional<TlsPairProblem> check_key(std::string_view key_pem) {
  gnutls_x509_privkey_t raw = nullptr;
  if (const int code = gnutls_x509_privkey_init(&raw); code < 0) {
    return problem(TlsPairProblem::Part::Key, "cannot be checked", code);
  }
  std::unique_ptr<gnutls_x509_privkey_int, decltype(&gnutls_x509_privkey_deinit)> key(
      raw, &gnutls_x509_privkey_deinit);
  const gnutls_datum_t data = datum_of(key_pem);
  if (const int code =
          gnutls_x509_privkey_import2(key.get(), &data, GNUTLS_X509_FMT_PEM, nullptr, 0);
      code < 0) {
    return problem(TlsPairProblem::Part::Key, "holds no unencrypted PEM private key", code);
  }
  return std::nullopt;
}

}  // namespace

std::optional<TlsPairProblem> check_tls_pair(std::string_view cert_pem, std::string_view key_pem) {
  if (auto bad = check_certificate(cert_pem)) {
    return bad;
  }
  if (auto bad = check_key(key_pem)) {
    return bad;
  }
  gnutls_certificate_credentials_t raw = nullptr;
  if (const int code = gnutls_certificate_allocate_credentials(&raw); code < 0) {
    return problem(TlsPairProblem::Part::Key, "cannot be checked", code);
  }
  std::unique_ptr<gnutls_certificate_credentials_st, decltype(&gnutls_certificate_free_credentials)>
      credentials(raw, &gnutls_certificate_free_credentials);
  // The call libmicrohttpd makes with MHD_OPTION_HTTPS_MEM_CERT and MHD_OPTION_HTTPS_MEM_KEY.
  const gnutls_datum_t cert = datum_of(cert_pem);
  const gnutls_datum_t key = datum_of(key_pem);
  const int code = gnutls_certificate_set_x509_key_mem2(credentials.get(), &cert, &key,
                                                        GNUTLS_X509_FMT_PEM, nullptr, 0);
  if (code == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
    return TlsPairProblem{TlsPairProblem::Part::Key,
                          "is not the key of the certificate in tls.cert"};
  }
  if (code < 0) {
    return problem(TlsPairProblem::Part::Key, "cannot be used with tls.cert", code);
  }
  return std::nullopt;
}

}  // namespace vantage
