#include <fmt/format.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "storage_migrations.hh"
#include "storage_suite.hh"

namespace vantage::testing {

namespace {
// 2026-01-01T00:00:00Z: results in the suite start here, so "since" filters have room below.
constexpr std::chrono::milliseconds kEpochOfTests(1767225600000);
}  // namespace

ScratchDir::ScratchDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      (std::filesystem::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") / (prefix + "-XXXXXX"))
          .string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  const char* keep = std::getenv("VANTAGE_KEEP_LAB");
  if (keep != nullptr && std::string_view(keep) == "1") {
    std::fprintf(stderr, "kept %s\n", path_.c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

StoredResult make_result(const std::string& agent, uint64_t seq, const std::string& domain,
                         std::chrono::milliseconds started) {
  StoredResult result;
  result.agent = agent;
  result.seq = seq;
  result.domain = domain;
  result.started_at = TimePoint(kEpochOfTests + started);
  result.verdict = seq % 5 == 0 ? "ROUTE_LOSS" : "OK";
  result.document =
      fmt::format(R"({{"schema_version":1,"agent":"{}","seq":{},"domain":"{}","checks":[]}})",
                  agent, seq, domain);
  return result;
}

std::vector<StoredResult> make_batch(const std::string& agent, uint64_t first_seq, size_t count,
                                     const std::string& domain) {
  std::vector<StoredResult> batch;
  batch.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const uint64_t seq = first_seq + i;
    batch.push_back(make_result(agent, seq, domain, std::chrono::milliseconds(seq * 1000)));
  }
  return batch;
}

Target target_for(const std::string& domain) {
  Target target;
  target.domain = domain;
  return target;
}

std::unique_ptr<Storage> fresh_migrated() {
  auto storage = storage_backend().open_fresh();
  storage->migrate();
  return storage;
}

std::unique_ptr<Storage> migrated_before(int version) {
  auto storage = storage_backend().open_fresh();
  StorageBackend& backend = storage_backend();
  backend.execute(std::string(kSchemaMigrationsTableSql));
  for (const Migration& migration : schema_migrations()) {
    if (migration.version >= version) {
      break;
    }
    const std::string_view own =
        backend.name() == "sqlite" ? migration.sqlite_sql : migration.postgres_sql;
    for (const std::string_view sql : {migration.sql, own}) {
      if (!sql.empty()) {
        backend.execute(std::string(sql));
      }
    }
    backend.execute(fmt::format(
        "INSERT INTO schema_migrations (version, description, applied_at) VALUES ({}, 'x', 0)",
        migration.version));
  }
  return storage;
}

std::vector<StoredResult> all_results(Storage& storage) {
  return storage.results("", "", TimePoint{}, std::numeric_limits<size_t>::max());
}

}  // namespace vantage::testing
