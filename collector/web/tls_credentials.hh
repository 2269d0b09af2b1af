#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vantage {

// What is wrong with a certificate and key pair, and in which of the two.
struct TlsPairProblem {
  enum class Part : uint8_t { Certificate, Key };
  Part part;
  std::string reason;
};

// Loads the PEM certificate (chain) and private key the way the HTTPS server will (GnuTLS, no
// password), so that a file it would refuse is refused while the config is read, naming the file.
// nullopt: both parse and the key belongs to the certificate.
std::optional<TlsPairProblem> check_tls_pair(std::string_view cert_pem, std::string_view key_pem);

}  // namespace vantage
