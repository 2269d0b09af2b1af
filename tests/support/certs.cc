#include "support/certs.hh"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <string>

#include "support/process.hh"

namespace vantage::testing {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)>;

[[noreturn]] void fail(const std::string& what) {
  char detail[256] = "";
  ERR_error_string_n(ERR_get_error(), detail, sizeof(detail));
  ERR_clear_error();
  throw std::runtime_error("certificate generation: " + what + ": " + detail);
}

EvpPkeyPtr make_key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
  if (!key)
    fail("EC key generation");
  return key;
}

void set_name(X509_NAME* name, std::string_view common_name) {
  const std::string cn(common_name);
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("Vantage tests"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1) {
    fail("subject name");
  }
}

// The extensions are made with an X509V3_CTX so that subject/authority key identifiers are
// derived from the right certificates, as a real CA's would be.
void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()),
                         &X509_EXTENSION_free);
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1)
    fail("extension " + value);
}

X509Ptr make_cert(EVP_PKEY* key, std::string_view common_name, Validity validity) {
  X509Ptr cert(X509_new(), &X509_free);
  if (!cert)
    fail("X509_new");
  X509_set_version(cert.get(), 2);  // v3
  // Random serials: a client that caches by issuer+serial must never mix two test runs up.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1)
    fail("serial");
  serial_bytes[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(
      BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr), &BN_free);
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    fail("serial");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), validity.not_before.count()) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity.not_after.count())) {
    fail("validity");
  }
  set_name(X509_get_subject_name(cert.get()), common_name);
  if (X509_set_pubkey(cert.get(), key) != 1)
    fail("public key");
  return cert;
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    fail("PEM certificate");
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("PEM key");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace

Certificate::Files Certificate::write(const std::filesystem::path& dir,
                                      std::string_view stem) const {
  Files files{dir / (std::string(stem) + ".crt"), dir / (std::string(stem) + ".key")};
  write_text(files.cert, cert_pem);
  write_text(files.key, key_pem);
  return files;
}

CertificateAuthority::CertificateAuthority(std::string_view common_name)
    : key_(make_key()), cert_(nullptr, &X509_free) {
  // Backdated a day and valid for a week: a CA that is itself "not yet valid" because of clock
  // skew between the test and the probe would turn every case into CertUntrusted.
  cert_ = make_cert(key_.get(), common_name, {-std::chrono::hours(24), std::chrono::hours(24 * 7)});
  X509_set_issuer_name(cert_.get(), X509_get_subject_name(cert_.get()));
  add_extension(cert_.get(), cert_.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert_.get(), cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert_.get(), cert_.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(cert_.get(), key_.get(), EVP_sha256()) == 0)
    fail("CA signature");
}

Certificate CertificateAuthority::issue(std::string_view dns_name, Validity validity,
                                        const std::vector<std::string>& ip_addresses) const {
  EvpPkeyPtr key = make_key();
  X509Ptr cert = make_cert(key.get(), dns_name, validity);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get()));
  add_extension(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), cert_.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), cert_.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), cert_.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always");
  std::string names = "DNS:" + std::string(dns_name);
  for (const auto& address : ip_addresses) {
    names += ",IP:" + address;
  }
  add_extension(cert.get(), cert_.get(), NID_subject_alt_name, names);
  if (X509_sign(cert.get(), key_.get(), EVP_sha256()) == 0)
    fail("leaf signature");
  return Certificate{to_pem(cert.get()), to_pem(key.get())};
}

std::string CertificateAuthority::cert_pem() const {
  return to_pem(cert_.get());
}

}  // namespace vantage::testing
