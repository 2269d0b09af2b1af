#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vantage::testing {

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

// A certificate and its private key, as PEM text.
struct Certificate {
  std::string cert_pem;
  std::string key_pem;
  // Writes `<stem>.crt` and `<stem>.key` into `dir`; returns the paths.
  struct Files {
    std::filesystem::path cert, key;
  };
  Files write(const std::filesystem::path& dir, std::string_view stem) const;
};

// When a leaf is valid, relative to now. The defaults make a certificate that is valid today.
struct Validity {
  std::chrono::seconds not_before = -std::chrono::hours(1);
  std::chrono::seconds not_after = std::chrono::hours(24);
};

// A self-signed certificate authority made for one test run (EC P-256: fast to generate).
class CertificateAuthority {
 public:
  explicit CertificateAuthority(std::string_view common_name);

  // A server certificate for `dns_name` (CN and subjectAltName DNS), and for `ip_addresses`
  // (subjectAltName IP), signed by this CA.
  Certificate issue(std::string_view dns_name, Validity validity = {},
                    const std::vector<std::string>& ip_addresses = {}) const;
  std::string cert_pem() const;

 private:
  EvpPkeyPtr key_;
  X509Ptr cert_;
};

}  // namespace vantage::testing
