#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "alert_store.hh"
#include "storage.hh"

// The one storage suite (storage_suite.cc) runs against whichever backend its binary links:
// test_storage_sqlite and test_storage_postgres each define storage_backend().
namespace vantage::testing {

class StorageBackend {
 public:
  virtual ~StorageBackend() = default;
  // "sqlite" or "postgres": the start of every StorageError message of that backend.
  virtual std::string name() const = 0;
  // A storage on a new, empty database (nothing migrated). reopen() and execute() then act on
  // this database.
  virtual std::unique_ptr<Storage> open_fresh() = 0;
  // Another storage, with a connection of its own, on the current database. Also usable in a
  // forked child.
  virtual std::unique_ptr<Storage> reopen() = 0;
  // Runs SQL on the current database through the test's own connection, outside any storage.
  virtual void execute(const std::string& sql) = 0;
  // The alert store on the current database, a connection of its own (as `serve` opens it).
  virtual std::unique_ptr<AlertStore> open_alert_store() = 0;
};

StorageBackend& storage_backend();

// A storage on a new database, migrated.
std::unique_ptr<Storage> fresh_migrated();
// A storage on a new database with the migrations before `version` applied, as a collector of
// that time left it (a migration that only rewrites rows has nothing to rewrite yet).
std::unique_ptr<Storage> migrated_before(int version);
// Every stored result, in results()' order.
std::vector<StoredResult> all_results(Storage& storage);

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when the object goes away
// unless VANTAGE_KEEP_LAB=1 (its path is then printed).
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Results with whole-millisecond times (what the store keeps), distinct documents.
StoredResult make_result(const std::string& agent, uint64_t seq,
                         const std::string& domain = "social.example",
                         std::chrono::milliseconds started = std::chrono::milliseconds(0));
std::vector<StoredResult> make_batch(const std::string& agent, uint64_t first_seq, size_t count,
                                     const std::string& domain = "social.example");

// An outcome's counts without its fates, which most cases need not spell out.
struct Counts {
  size_t inserted = 0;
  size_t duplicates = 0;
  size_t conflicts = 0;
  bool operator==(const Counts&) const = default;
};
inline Counts counts(const StoreOutcome& outcome) {
  return {outcome.inserted, outcome.duplicates, outcome.conflicts};
}

// A target with the defaults (port 443, path /, any 2xx or 3xx).
Target target_for(const std::string& domain);

}  // namespace vantage::testing
