#include "asn_database.hh"

#include <maxminddb.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "routed_prefix.hh"

namespace vantage {

namespace {

constexpr const char* kAsnKey = "autonomous_system_number";
constexpr const char* kOrganizationKey = "autonomous_system_organization";

}  // namespace

struct AsnDatabase::Impl {
  // MMDB_s is filled in place by MMDB_open and released by MMDB_close; it is never copied, so
  // it lives here rather than behind a unique_ptr deleter.
  MMDB_s mmdb{};

  ~Impl() { MMDB_close(&mmdb); }

  // The record holding `address`; nullopt when the address is not a literal or not in the
  // database.
  std::optional<MMDB_lookup_result_s> find(std::string_view address) const {
    // MMDB_lookup_string wants a C string; an embedded NUL would silently look up a prefix.
    if (address.empty() || address.find('\0') != std::string_view::npos) {
      return std::nullopt;
    }
    const std::string literal(address);
    int gai_error = 0;
    int mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s result =
        MMDB_lookup_string(&mmdb, literal.c_str(), &gai_error, &mmdb_error);
    if (gai_error != 0) {
      // Not an address literal (getaddrinfo runs with AI_NUMERICHOST): the caller's input, not
      // the database, is at fault.
      return std::nullopt;
    }
    if (mmdb_error != MMDB_SUCCESS) {
      // An IPv6 address in an IPv4-only database simply cannot be there. Anything else is a
      // damaged file, worth a warning but not worth failing the agent's report for.
      if (mmdb_error != MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
        spdlog::warn("ASN database: looking up {}: {}", literal, MMDB_strerror(mmdb_error));
      }
      return std::nullopt;
    }
    if (!result.found_entry) {
      return std::nullopt;
    }
    return result;
  }

  // The top-level `key` of the record holding `address`; nullopt when the address is not a
  // literal, not in the database, or its record has no such key.
  std::optional<MMDB_entry_data_s> value(std::string_view address, const char* key) const {
    auto result = find(address);
    if (!result) {
      return std::nullopt;
    }
    MMDB_entry_data_s data{};
    const char* const path[] = {key, nullptr};
    const int status = MMDB_aget_value(&result->entry, &data, path);
    if (status != MMDB_SUCCESS) {
      // The record exists but is not a map holding `key` (e.g. a City database): absent data,
      // not damage.
      if (status != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
        spdlog::warn("ASN database: reading {} for {}: {}", key, address, MMDB_strerror(status));
      }
      return std::nullopt;
    }
    if (!data.has_data) {
      return std::nullopt;
    }
    return data;
  }
};

AsnDatabase::AsnDatabase(const std::string& path) : impl_(std::make_unique<Impl>()) {
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &impl_->mmdb);
  if (status != MMDB_SUCCESS) {
    // open(2) and mmap(2) leave errno set; it says *why* ("No such file or directory") where
    // libmaxminddb only says which step failed.
    const int saved_errno = errno;
    // MMDB_open has already released whatever it allocated; closing again would double-free.
    impl_->mmdb = MMDB_s{};
    std::string reason = MMDB_strerror(status);
    if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) && saved_errno != 0) {
      reason += fmt::format(": {}", std::generic_category().message(saved_errno));
    }
    throw std::runtime_error(fmt::format("cannot open ASN database {}: {}", path, reason));
  }
  const char* type = impl_->mmdb.metadata.database_type;
  const std::string_view database_type = type != nullptr ? type : "";
  // A City or Country file opens fine and then answers "no ASN" for everyone; say so once.
  if (database_type.find("ASN") == std::string_view::npos &&
      database_type.find("ISP") == std::string_view::npos) {
    spdlog::warn("ASN database {} is of type '{}', which may not hold {}", path, database_type,
                 kAsnKey);
  }
}

AsnDatabase::~AsnDatabase() = default;

std::optional<int64_t> AsnDatabase::lookup(std::string_view address) const {
  const auto data = impl_->value(address, kAsnKey);
  if (!data) {
    return std::nullopt;
  }
  // GeoLite2-ASN and GeoIP2-ISP store uint32; the other integer types are accepted so that a
  // hand-made database with a different width still works.
  switch (data->type) {
    case MMDB_DATA_TYPE_UINT32:
      return static_cast<int64_t>(data->uint32);
    case MMDB_DATA_TYPE_UINT16:
      return static_cast<int64_t>(data->uint16);
    case MMDB_DATA_TYPE_INT32:
      if (data->int32 >= 0) {
        return static_cast<int64_t>(data->int32);
      }
      break;
    case MMDB_DATA_TYPE_UINT64:
      if (data->uint64 <= std::numeric_limits<uint32_t>::max()) {
        return static_cast<int64_t>(data->uint64);
      }
      break;
    default:
      break;
  }
  spdlog::warn("ASN database: {} for {} is not a 32-bit unsigned number (type {})", kAsnKey,
               address, data->type);
  return std::nullopt;
}

std::optional<std::string> AsnDatabase::network(std::string_view address) const {
  const auto result = impl_->find(address);
  const auto prefix = RoutedPrefix::covering(address);
  if (!result || !prefix) {
    return std::nullopt;
  }
  // An IPv6 database keeps IPv4 in ::/96, so an IPv4 network's mask counts those 96 bits too.
  int length = result->netmask;
  const bool v4 = address.find(':') == std::string_view::npos;
  if (v4 && impl_->mmdb.metadata.ip_version == 6) {
    length -= 96;
  }
  const auto network = RoutedPrefix::parse(fmt::format("{}/{}", address, length));
  if (!network) {
    return std::nullopt;
  }
  return network->to_string();
}

NetworkLookup network_lookup(std::shared_ptr<const AsnDatabase> database) {
  if (!database) {
    return {};
  }
  return [database = std::move(database)](std::string_view address) -> std::optional<NetworkInfo> {
    const auto asn = database->lookup(address);
    const auto network = database->network(address);
    if (!asn || !network) {
      return std::nullopt;
    }
    return NetworkInfo{*asn, *network};
  };
}

std::string AsnDatabase::organization(std::string_view address) const {
  const auto data = impl_->value(address, kOrganizationKey);
  if (!data || data->type != MMDB_DATA_TYPE_UTF8_STRING) {
    return "";
  }
  // Not NUL-terminated: it points into the mapped file.
  return {data->utf8_string, data->data_size};
}

}  // namespace vantage
