// The commands that work on the collector's own config and store: serve and check-config.
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "alert_store.hh"
#include "alerts.hh"
#include "api.hh"
#include "asn_database.hh"
#include "cli.hh"
#include "collector_config.hh"
#include "commands.hh"
#include "duration.hh"
#include "http_server.hh"
#include "monitor.hh"
#include "serve_lock.hh"
#include "storage_migrations.hh"
#include "storage_retention.hh"
#include "tokens.hh"

namespace vantage {
namespace {

std::string describe_storage(const StorageConfig& storage) {
  // Only the kind for PostgreSQL: its conninfo may hold a password.
  return storage.kind == StorageConfig::Kind::Sqlite ? fmt::format("sqlite {}", storage.location)
                                                     : std::string("postgres");
}

// A connection of its own to the same database as the main store (migrated by then).
std::unique_ptr<AlertStore> open_alert_store(const StorageConfig& storage) {
  return storage.kind == StorageConfig::Kind::Sqlite ? open_sqlite_alert_store(storage.location)
                                                     : open_postgres_alert_store(storage.location);
}

// What serve opens before it listens, beyond collector.yaml itself (which load_collector_config
// has checked, TLS files included). check-config goes through the same steps, so that a file it
// passes is one serve starts with.
struct ServeResources {
  std::unique_ptr<ServeLock> lock;   // serve on SQLite only; declared first, released last
  std::unique_ptr<Storage> storage;  // null for check-config on a SQLite file not created yet
  std::unique_ptr<AsnDatabase> asn_database;
};

enum class Purpose : uint8_t { Serve, Check };

ServeResources open_resources(const CollectorConfig& config, Purpose purpose) {
  ServeResources resources;
  if (purpose == Purpose::Serve) {
    if (config.storage.kind == StorageConfig::Kind::Sqlite) {
      resources.lock = std::make_unique<ServeLock>(config.storage.location);
    }
    resources.storage = open_migrated(config);
  } else if (config.storage.kind == StorageConfig::Kind::Postgres ||
             std::filesystem::exists(config.storage.location)) {
    // Opened, not migrated: a check changes nothing. serve's migrate() refuses a database of a
    // newer collector, and so does this.
    resources.storage = open_storage(config.storage);
    if (const int version = resources.storage->schema_version();
        version > latest_schema_version()) {
      throw StorageError(fmt::format(
          "{}: the database has schema version {}, newer than this collector's {}: run a newer "
          "collector",
          describe_storage(config.storage), version, latest_schema_version()));
    }
  } else if (const auto dir = std::filesystem::absolute(config.storage.location).parent_path();
             access(dir.c_str(), W_OK | X_OK) != 0) {
    const int error = errno;
    throw StorageError(fmt::format("{}: cannot create the database in \"{}\": {}",
                                   describe_storage(config.storage), dir.string(),
                                   std::generic_category().message(error)));
  }
  if (!config.asn_database.empty()) {
    resources.asn_database = std::make_unique<AsnDatabase>(config.asn_database);
  }
  return resources;
}

}  // namespace

std::unique_ptr<Storage> open_migrated(const CollectorConfig& config) {
  auto storage = open_storage(config.storage);
  storage->migrate();
  return storage;
}

int serve_command(const std::string& config_file) {
  const CollectorConfig config = load_collector_config(config_file);

  // Blocked before any thread starts, so that every thread inherits the mask and the signals
  // wait for sigwait() below instead of landing in a libmicrohttpd worker.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-reply is a failed send, not the end of us

  auto [lock, storage, asn_database] = open_resources(config, Purpose::Serve);
  HttpServerOptions options;
  options.listen = config.listen;
  options.max_body_bytes = config.limits.max_body_bytes;
  options.tls = config.tls();
  options.tls_cert_pem = config.tls_cert_pem;
  options.tls_key_pem = config.tls_key_pem;
  options.connection_limit = config.limits.max_connections;
  options.connection_limit_per_ip = config.limits.max_connections_per_ip;
  options.header_timeout = config.limits.header_timeout;
  options.connection_timeout = config.limits.idle_timeout;
  // Alerts are stored even without receivers, so that `alerts` shows what would have paged.
  const std::unique_ptr<AlertStore> alert_store = open_alert_store(config.storage);
  if (config.alerts.empty()) {
    spdlog::warn(
        "no alert receivers configured: verdict changes are recorded but nobody is notified "
        "(alerts: in {})",
        config_file);
  }
  auto alerts = std::make_unique<AlertDispatcher>(config.alerts, config.alert_timing, *alert_store,
                                                  config.maintenance, config.routes);
  {
    // Destroyed in reverse: the server (no request in progress), the API, then the monitor and
    // its ageing thread, all before the store closes.
    Monitor monitor(*storage, config.correlation, alerts.get(), asn_database.get());
    monitor.resume();
    // After the replay, which reads the recent results it must not race.
    StorageRetention retention(*storage, config.retention);
    retention.start();
    Api api(*storage,
            ApiOptions{config.limits.max_body_bytes, config.limits.requests_per_second,
                       config.limits.max_clock_skew, config.status_page, config.tls(),
                       config.metrics_token},
            monitor, alerts.get(), &retention);
    HttpServer server(std::move(options), api);
    spdlog::info(
        "vantage-collector {} listening on {} ({}), storage {} (schema version {}), "
        "{} bytes per body, {} requests per second per token, {} connections ({} per address, "
        "headers within {} s, idle for {} s), {} alert receiver(s){}, retention: {}",
        VANTAGE_VERSION, config.listen.with_port(server.port()).to_string(),
        config.tls() ? "TLS" : "plain HTTP, no TLS", describe_storage(config.storage),
        storage->schema_version(), config.limits.max_body_bytes, config.limits.requests_per_second,
        config.limits.max_connections, config.limits.max_connections_per_ip,
        config.limits.header_timeout.count(), config.limits.idle_timeout.count(),
        config.alerts.size(), asn_database ? ", ASN database " + config.asn_database : "",
        config.retention.describe());
    if (config.status_page.enabled()) {
      spdlog::info("public status page at /status, no token needed: {} domain(s): {}",
                   config.status_page.domains.size(), fmt::join(config.status_page.domains, ", "));
    }
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    spdlog::info("{}: finishing the requests in progress", strsignal(signal_number));
    server.stop();
  }
  storage.reset();  // only now: no request and no monitor thread can reach the store any more
  spdlog::info("stopped");
  return 0;
}

int check_config_command(const std::string& config_file, std::ostream& out) {
  const CollectorConfig config = load_collector_config(config_file);
  open_resources(config, Purpose::Check);
  out << fmt::format("{}: OK: listen {}, {}, storage {}, {} alert receiver{}, quorum {}\n",
                     config_file, config.listen.to_string(), config.tls() ? "TLS" : "no TLS",
                     describe_storage(config.storage), config.alerts.size(),
                     config.alerts.size() == 1 ? "" : "s", config.correlation.quorum);
  return 0;
}

}  // namespace vantage
