// vantage-ingest-bench: the client side of bench/ingest. It posts realistic result batches from
// many simulated agents to a running vantage-collector, and measures the raw batched-insert rate
// of the same rows into the same schema without the collector, so that bench/ingest can report
// the collector's rate as a ratio against that peer. Prints one line of key=value pairs on stdout.
//
//   vantage-ingest-bench tokens --sqlite DB --agents 1000 --out tokens.txt
//   vantage-ingest-bench load --url http://127.0.0.1:PORT --tokens tokens.txt --seconds 40
//   vantage-ingest-bench raw-sqlite --db raw.db --agents 1000 --results 100000
//   vantage-ingest-bench raw-postgres --conninfo "host=/tmp/x dbname=raw" --results 100000
//   vantage-ingest-bench count --sqlite DB            (or --postgres CONNINFO)
//   vantage-ingest-bench phases --results 20000       (where the collector's CPU goes, in-process)
//
// Every mode sends or inserts the same rows: batch k belongs to the k-th agent in turn (an agent
// never has two batches in flight), each agent numbers its results 1, 2, 3, ..., and result seq
// of an agent carries the cycle document of one of kDomains domains, a healthy cycle of eight
// probes as the engine writes it.

#include <arpa/inet.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "api_input.hh"
#include "cycle_summary.hh"
#include "document_codec.hh"
#include "result_json.hh"
#include "sample_cycle.hh"
#include "storage.hh"
#include "tokens.hh"
#include "upload_body.hh"

namespace {

using namespace std::chrono_literals;
using vantage::CycleResult;
using vantage::TimePoint;
using Clock = std::chrono::steady_clock;

constexpr size_t kDomains = 64;

// ---------------------------------------------------------------------------------------------
// The rows: what every mode sends or inserts.

struct Document {
  std::string domain;
  int64_t started_at_ms = 0;
  std::string verdict;
  std::string text;        // compact JSON: what the agent sends
  std::string compressed;  // what the collector stores of it (document_codec.hh)
  std::string summary;     // what the collector stores beside it for a restart's replay
  std::string latency;     // and its check latencies, until they are folded into rollups
};

std::vector<Document> make_documents() {
  // Cycles of the last few minutes: well inside the collector's accepted range.
  const auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::vector<Document> documents;
  for (size_t i = 0; i < kDomains; ++i) {
    const std::string domain = fmt::format("site-{:03}.example", i);
    const TimePoint started = now - std::chrono::milliseconds(1000 * (i + 1) + 37 * i);
    const CycleResult cycle = vantage::bench::healthy_cycle(domain, started, static_cast<int>(i));
    documents.push_back(Document{
        domain,
        std::chrono::duration_cast<std::chrono::milliseconds>(started.time_since_epoch()).count(),
        std::string(vantage::to_string(cycle.reading.verdict)), vantage::to_json(cycle).dump(), "",
        vantage::encode_summary(vantage::summarize("", std::nullopt, cycle)), ""});
    documents.back().compressed = vantage::document_codec::compress(documents.back().text);
    documents.back().latency = vantage::encode_check_latencies(vantage::check_latencies(cycle));
  }
  return documents;
}

// The document of result `seq` of agent number `agent`: agents probe the same domains, each
// starting at a different one.
const Document& document_for(const std::vector<Document>& documents, size_t agent, uint64_t seq) {
  return documents[(agent * 7 + seq) % documents.size()];
}

std::string agent_name(size_t index, std::string_view prefix = "bench-agent") {
  return fmt::format("{}-{:04}", prefix, index + 1);
}

// One batch: `count` results of agent `agent`, seq first..first+count-1.
struct Batch {
  size_t agent = 0;
  uint64_t first = 1;
  size_t count = 0;
};

// Hands out batches in turn to agents that have none in flight, until `total` results are out.
class Schedule {
 public:
  Schedule(size_t agents, size_t total, size_t batch, uint64_t first_seq = 1)
      : total_(total), batch_(batch) {
    next_seq_.assign(agents, first_seq);
    for (size_t i = 0; i < agents; ++i) {
      idle_.push_back(i);
    }
  }
  std::optional<Batch> next() {
    if (issued_ >= total_ || idle_.empty()) {
      return std::nullopt;
    }
    Batch batch;
    batch.agent = idle_.front();
    idle_.pop_front();
    batch.first = next_seq_[batch.agent];
    batch.count = std::min(batch_, total_ - issued_);
    next_seq_[batch.agent] += batch.count;
    issued_ += batch.count;
    return batch;
  }
  void done(size_t agent) { idle_.push_back(agent); }
  bool finished() const { return issued_ >= total_; }

 private:
  size_t total_;
  size_t batch_;
  size_t issued_ = 0;
  std::vector<uint64_t> next_seq_;
  std::deque<size_t> idle_;
};

// The body the agent daemon posts (agent/daemon.cc: upload), byte for byte as nlohmann's dump()
// writes it: keys in sorted order, no spaces.
void build_body(std::string& body, const std::string& agent, size_t agent_index, const Batch& batch,
                const std::vector<Document>& documents) {
  body.clear();
  body += R"({"agent":")";
  body += agent;
  body += R"(","results":[)";
  for (size_t i = 0; i < batch.count; ++i) {
    const uint64_t seq = batch.first + i;
    if (i > 0) {
      body += ',';
    }
    body += R"({"cycle":)";
    body += document_for(documents, agent_index, seq).text;
    body += R"(,"seq":)";
    body += std::to_string(seq);
    body += '}';
  }
  body += R"(],"schema_version":1})";
}

// ---------------------------------------------------------------------------------------------
// Measuring.

struct Cpu {
  double user_s = 0;
  double sys_s = 0;
};

Cpu cpu_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return Cpu{seconds(ru.ru_utime), seconds(ru.ru_stime)};
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto index = static_cast<size_t>(std::lround(p * static_cast<double>(values.size() - 1)));
  return values[std::min(index, values.size() - 1)];
}

// ---------------------------------------------------------------------------------------------
// tokens, count

struct StoreTarget {
  std::string sqlite;
  std::string postgres;
};

std::unique_ptr<vantage::Storage> open_store(const StoreTarget& target, bool fast_setup) {
  if (!target.sqlite.empty()) {
    // Setting up tokens is not what is measured: no fsync per token.
    vantage::SqliteOptions options;
    options.sync_every_commit = !fast_setup;
    return vantage::open_sqlite_storage(target.sqlite, options);
  }
  return vantage::open_postgres_storage(target.postgres);
}

int run_tokens(const StoreTarget& target, size_t agents, const std::string& out_file) {
  const auto started = Clock::now();
  auto storage = open_store(target, true);
  storage->migrate();
  std::ofstream out(out_file, std::ios::trunc);
  if (!out) {
    throw std::runtime_error(fmt::format("cannot write {}", out_file));
  }
  for (size_t i = 0; i < agents; ++i) {
    const std::string name = agent_name(i);
    out << name << ' '
        << vantage::create_token(*storage, name, vantage::TokenKind::Agent,
                                 std::chrono::system_clock::now())
        << '\n';
  }
  out.close();
  if (!out) {
    throw std::runtime_error(fmt::format("cannot write {}", out_file));
  }
  fmt::print("tokens={} seconds={:.2f}\n", agents, seconds_between(started, Clock::now()));
  return 0;
}

int run_count(const StoreTarget& target) {
  auto storage = open_store(target, false);
  fmt::print("count={}\n", storage->count_results());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// load: the collector's side, over HTTP.

struct Agent {
  std::string name;
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers{nullptr,
                                                                      &curl_slist_free_all};
};

std::vector<Agent> read_agents(const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    throw std::runtime_error(fmt::format("cannot read {}", file));
  }
  std::vector<Agent> agents;
  std::string name;
  std::string token;
  while (in >> name >> token) {
    Agent agent;
    agent.name = name;
    // As the agent daemon sends them (agent/collector_client.cc).
    for (const std::string& header :
         {"Authorization: Bearer " + token, std::string("Content-Type: application/json"),
          std::string("Content-Encoding: gzip"), std::string("Expect:")}) {
      agent.headers.reset(curl_slist_append(agent.headers.release(), header.c_str()));
    }
    agents.push_back(std::move(agent));
  }
  if (agents.empty()) {
    throw std::runtime_error(fmt::format("{}: no \"NAME TOKEN\" lines", file));
  }
  return agents;
}

// One connection's worth of state: the easy handle is reused for every request it carries, so
// its connection stays open (keep-alive), as an agent's does.
struct Slot {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy{curl_easy_init(), &curl_easy_cleanup};
  std::string body;
  std::string compressed;
  std::string reply;
  Batch batch;
  Clock::time_point sent;
  bool busy = false;

  // CURLOPT_WRITEFUNCTION
  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    static_cast<Slot*>(self)->reply.append(data, size * count);
    return size * count;
  }
};

struct LoadOptions {
  std::string url;
  std::string tokens_file;
  size_t results = 300'000;
  size_t batch = 100;
  size_t connections = 32;
  uint64_t first_seq = 1;  // a second load into the same store continues each agent's numbers
  double seconds = 0;      // > 0: stop sending new batches after this long
  int max_seconds = 600;
};

int run_load(const LoadOptions& options) {
  std::vector<Agent> agents = read_agents(options.tokens_file);
  const std::vector<Document> documents = make_documents();
  Schedule schedule(agents.size(), options.results, options.batch, options.first_seq);
  const std::string url = options.url + "/api/v1/results";

  std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(curl_multi_init(),
                                                              &curl_multi_cleanup);
  curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(options.connections));
  std::vector<Slot> slots(options.connections);

  size_t requests = 0;
  size_t accepted = 0;
  size_t failures = 0;
  size_t body_bytes = 0;
  size_t sent = 0;
  std::string first_failure;
  std::vector<double> latencies_ms;
  // Results acknowledged per whole second since the start: the sustained rate, second by second.
  std::vector<size_t> per_second;

  bool time_up = false;
  Clock::time_point stop_sending;
  auto start_request = [&](Slot& slot) {
    if (options.seconds > 0 && Clock::now() >= stop_sending) {
      time_up = true;
      return;
    }
    const auto batch = schedule.next();
    if (!batch) {
      return;
    }
    Agent& agent = agents[batch->agent];
    build_body(slot.body, agent.name, batch->agent, *batch, documents);
    slot.compressed = vantage::gzip_fast(slot.body);  // as the agent posts it
    body_bytes += slot.compressed.size();
    sent += batch->count;
    slot.reply.clear();
    slot.batch = *batch;
    slot.busy = true;
    CURL* easy = slot.easy.get();
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, agent.headers.get());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, slot.compressed.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(slot.compressed.size()));
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Slot::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &slot);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &slot);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 60'000L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "vantage-ingest-bench");
    slot.sent = Clock::now();
    curl_multi_add_handle(multi.get(), easy);
  };

  auto fail = [&](std::string why) {
    ++failures;
    if (first_failure.empty()) {
      first_failure = std::move(why);
    }
  };

  auto finish_request = [&](Slot& slot, CURLcode code, Clock::time_point start) {
    const auto now = Clock::now();
    ++requests;
    slot.busy = false;
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - slot.sent).count());
    long status = 0;
    curl_easy_getinfo(slot.easy.get(), CURLINFO_RESPONSE_CODE, &status);
    const uint64_t last_seq = slot.batch.first + slot.batch.count - 1;
    if (code != CURLE_OK) {
      fail(fmt::format("curl error {} ({})", static_cast<int>(code), curl_easy_strerror(code)));
    } else if (status != 200) {
      fail(fmt::format("HTTP {}: {}", status, slot.reply));
    } else {
      const auto reply = nlohmann::json::parse(slot.reply, nullptr, false);
      if (reply.is_discarded() || reply.value("accepted", size_t{0}) != slot.batch.count ||
          reply.value("duplicates", size_t{1}) != 0 ||
          reply.value("acked_seq", uint64_t{0}) != last_seq) {
        fail(fmt::format("{} results seq {}..{} of {}: unexpected answer {}", slot.batch.count,
                         slot.batch.first, last_seq, agents[slot.batch.agent].name, slot.reply));
      } else {
        accepted += slot.batch.count;
        const auto second = static_cast<size_t>(seconds_between(start, now));
        if (per_second.size() <= second) {
          per_second.resize(second + 1, 0);
        }
        per_second[second] += slot.batch.count;
      }
    }
    schedule.done(slot.batch.agent);
  };

  const Cpu cpu_before = cpu_now();
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(options.max_seconds);
  stop_sending = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(options.seconds));
  for (Slot& slot : slots) {
    start_request(slot);
  }
  for (;;) {
    int running = 0;
    curl_multi_perform(multi.get(), &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
      if (message->msg != CURLMSG_DONE) {
        continue;
      }
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      Slot* slot = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &slot);
      curl_multi_remove_handle(multi.get(), easy);
      finish_request(*slot, code, start);
      start_request(*slot);
    }
    const bool any_busy =
        std::any_of(slots.begin(), slots.end(), [](const Slot& slot) { return slot.busy; });
    if (!any_busy && (schedule.finished() || time_up)) {
      break;
    }
    if (Clock::now() > deadline) {
      fail(fmt::format("gave up after {} s", options.max_seconds));
      break;
    }
    curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
  }
  const auto end = Clock::now();
  const Cpu cpu_after = cpu_now();

  const double wall = seconds_between(start, end);
  // Whole seconds only: the last, partial one would understate the rate.
  std::vector<double> full_seconds;
  for (size_t i = 0; i + 1 < per_second.size(); ++i) {
    full_seconds.push_back(static_cast<double>(per_second[i]));
  }
  std::string series;
  for (const double count : full_seconds) {
    series += fmt::format("{}{:.0f}", series.empty() ? "" : ",", count);
  }
  fmt::print(
      "results={} accepted={} requests={} failures={} agents={} batch={} connections={} "
      "wall_s={:.3f} results_per_s={:.0f} per_second_min={:.0f} per_second_median={:.0f} "
      "latency_p50_ms={:.1f} latency_p99_ms={:.1f} client_cpu_s={:.2f} bytes_per_result={:.0f} "
      "document_bytes={} per_second={}\n",
      sent, accepted, requests, failures, agents.size(), options.batch, options.connections, wall,
      static_cast<double>(accepted) / wall,
      full_seconds.empty() ? 0.0 : *std::min_element(full_seconds.begin(), full_seconds.end()),
      percentile(full_seconds, 0.5), percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99),
      (cpu_after.user_s + cpu_after.sys_s) - (cpu_before.user_s + cpu_before.sys_s),
      static_cast<double>(body_bytes) / static_cast<double>(std::max<size_t>(1, accepted)),
      documents.front().text.size(), series.empty() ? "-" : series);
  if (failures > 0) {
    fmt::print(stderr, "vantage-ingest-bench: {} failed requests; the first: {}\n", failures,
               first_failure);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// raw-sqlite: the same rows, the same table and statement, the same durability; no HTTP, no
// JSON, no token, no collector.

struct RawOptions {
  std::string db;
  std::string conninfo;
  size_t agents = 1000;
  size_t results = 300'000;
  size_t batch = 100;
  std::string method = "unnest";
  // A backlog for retention to prune: rows this many days old, of agents named otherwise than the
  // load's (so that the load's results never meet their keys).
  int age_days = 0;
  std::string agent_prefix = "bench-agent";
};

// A backlog stands for the results of a collector that ran for weeks, folded into their rollups
// long ago (collector/store/rollup.hh): its rows are behind the fold mark, as theirs would be.
// (Their rollups are left out: no reader of the benchmark looks at them.)
constexpr const char* kBacklogFolded =
    "UPDATE rollup_fold SET folded_before = (SELECT MAX(started_at) + 1 FROM results)";

// The sample documents, started `age_days` earlier.
std::vector<Document> aged_documents(int age_days) {
  std::vector<Document> documents = make_documents();
  for (Document& document : documents) {
    document.started_at_ms -= int64_t{age_days} * 24 * 3600 * 1000;
  }
  return documents;
}

// The batches in the order the load sends them when every request takes as long as the others.
std::vector<Batch> all_batches(size_t agents, size_t results, size_t batch_size) {
  Schedule schedule(agents, results, batch_size);
  std::vector<Batch> batches;
  while (auto batch = schedule.next()) {
    batches.push_back(*batch);
    schedule.done(batch->agent);
  }
  return batches;
}

class Sqlite {
 public:
  explicit Sqlite(const std::string& path) {
    sqlite3* raw = nullptr;
    const int code =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (code != SQLITE_OK) {
      throw std::runtime_error(fmt::format("sqlite {}: open: {}", path, sqlite3_errstr(code)));
    }
  }
  sqlite3* get() const { return db_.get(); }
  void exec(const char* sql) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      fail(sql);
    }
  }
  [[noreturn]] void fail(std::string_view what) const {
    throw std::runtime_error(fmt::format("sqlite: {}: {}", what, sqlite3_errmsg(db_.get())));
  }
  using Statement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;
  Statement prepare(std::string_view sql) const {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      fail("prepare");
    }
    return Statement(raw, &sqlite3_finalize);
  }

 private:
  std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> db_{nullptr, &sqlite3_close_v2};
};

void print_raw(const char* backend, const RawOptions& options, size_t inserted, double wall,
               const Cpu& before, const Cpu& after, const std::string& extra) {
  fmt::print(
      "backend={} results={} inserted={} batch={} wall_s={:.3f} results_per_s={:.0f} "
      "cpu_s={:.2f}{}\n",
      backend, options.results, inserted, options.batch, wall, static_cast<double>(inserted) / wall,
      (after.user_s + after.sys_s) - (before.user_s + before.sys_s), extra);
}

int run_raw_sqlite(const RawOptions& options) {
  // The collector's own migrations create the schema: the same table, key, index and CHECKs.
  vantage::open_sqlite_storage(options.db)->migrate();
  const std::vector<Document> documents = aged_documents(options.age_days);
  const std::vector<Batch> batches = all_batches(options.agents, options.results, options.batch);
  std::vector<std::string> names;
  for (size_t i = 0; i < options.agents; ++i) {
    names.push_back(agent_name(i, options.agent_prefix));
  }

  Sqlite db(options.db);
  // The collector's settings (collector/store/sqlite_storage.cc): WAL, fsync at every commit,
  // its page cache and checkpoint interval.
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=FULL");
  db.exec(fmt::format("PRAGMA cache_size=-{}", vantage::kSqlitePageCacheKiB).c_str());
  db.exec(fmt::format("PRAGMA wal_autocheckpoint={}", vantage::kSqliteCheckpointPages).c_str());
  // The row and its document, as the collector stores them (collector/store/sqlite_storage.cc).
  const auto insert = db.prepare(
      "INSERT INTO results (agent, seq, domain, started_at, verdict, document, received_at, epoch, "
      "summary, document_zstd, latency) VALUES (?1, ?2, ?3, ?4, ?5, '', ?6, ?7, ?8, X'', ?9) "
      "ON CONFLICT (agent, epoch, seq) DO NOTHING");
  const auto insert_document = db.prepare(
      "INSERT INTO result_documents (result_id, document_zstd) VALUES (last_insert_rowid(), ?1)");
  auto check = [&](int code) {
    if (code != SQLITE_OK) {
      db.fail("bind");
    }
  };

  size_t inserted = 0;
  const Cpu before = cpu_now();
  const auto start = Clock::now();
  for (const Batch& batch : batches) {
    const int64_t received_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    db.exec("BEGIN IMMEDIATE");
    const std::string& agent = names[batch.agent];
    for (size_t i = 0; i < batch.count; ++i) {
      const uint64_t seq = batch.first + i;
      const Document& document = document_for(documents, batch.agent, seq);
      check(sqlite3_bind_text64(insert.get(), 1, agent.data(), agent.size(), SQLITE_STATIC,
                                SQLITE_UTF8));
      check(sqlite3_bind_int64(insert.get(), 2, static_cast<int64_t>(seq)));
      check(sqlite3_bind_text64(insert.get(), 3, document.domain.data(), document.domain.size(),
                                SQLITE_STATIC, SQLITE_UTF8));
      check(sqlite3_bind_int64(insert.get(), 4, document.started_at_ms));
      check(sqlite3_bind_text64(insert.get(), 5, document.verdict.data(), document.verdict.size(),
                                SQLITE_STATIC, SQLITE_UTF8));
      check(sqlite3_bind_int64(insert.get(), 6, received_at));
      check(sqlite3_bind_int64(insert.get(), 7, 0));
      check(sqlite3_bind_text64(insert.get(), 8, document.summary.data(), document.summary.size(),
                                SQLITE_STATIC, SQLITE_UTF8));
      check(sqlite3_bind_text64(insert.get(), 9, document.latency.data(), document.latency.size(),
                                SQLITE_STATIC, SQLITE_UTF8));
      if (sqlite3_step(insert.get()) != SQLITE_DONE) {
        db.fail("insert");
      }
      const auto added = static_cast<size_t>(sqlite3_changes64(db.get()));
      sqlite3_reset(insert.get());
      if (added == 1) {
        check(sqlite3_bind_blob64(insert_document.get(), 1, document.compressed.data(),
                                  document.compressed.size(), SQLITE_STATIC));
        if (sqlite3_step(insert_document.get()) != SQLITE_DONE) {
          db.fail("insert document");
        }
        sqlite3_reset(insert_document.get());
      }
      inserted += added;
    }
    db.exec("COMMIT");
  }
  const auto end = Clock::now();
  const Cpu after = cpu_now();
  if (options.age_days > 0) {
    db.exec(kBacklogFolded);
  }
  print_raw("sqlite", options, inserted, seconds_between(start, end), before, after,
            " method=prepared-insert");
  return inserted == options.results ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// raw-postgres: the same rows into the same table over one libpq connection, as the collector
// has; either the collector's own statement (one INSERT ... SELECT FROM unnest(binary arrays) per
// batch) or one prepared INSERT per row, pipelined, in a transaction per batch.

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

class Postgres {
 public:
  explicit Postgres(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str()), &PQfinish) {
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      throw std::runtime_error(fmt::format("postgres: cannot connect: {}",
                                           conn_ ? PQerrorMessage(conn_.get()) : "out of memory"));
    }
  }
  PGconn* get() const { return conn_.get(); }
  [[noreturn]] void fail(std::string_view what, const PGresult* result = nullptr) const {
    throw std::runtime_error(fmt::format(
        "postgres: {}: {}", what,
        result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get())));
  }
  void expect(PGresult* raw, ExecStatusType wanted, std::string_view what) const {
    const PgResult result(raw, &PQclear);
    if (PQresultStatus(result.get()) != wanted) {
      fail(what, result.get());
    }
  }

 private:
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
};

constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;

// array_send's format: a header, then each element as a 32-bit length and its bytes.
class BinaryArray {
 public:
  BinaryArray(Oid element_type, size_t count) {
    put32(1);
    put32(0);
    put32(element_type);
    put32(static_cast<uint32_t>(count));
    put32(1);
  }
  void add(std::string_view text) {
    put32(static_cast<uint32_t>(text.size()));
    bytes_.append(text);
  }
  void add(int64_t value) {
    put32(8);
    const auto bits = static_cast<uint64_t>(value);
    put32(static_cast<uint32_t>(bits >> 32));
    put32(static_cast<uint32_t>(bits & 0xffffffffU));
  }
  const std::string& bytes() const { return bytes_; }

 private:
  void put32(uint32_t value) {
    const uint32_t network = htonl(value);
    bytes_.append(reinterpret_cast<const char*>(&network), sizeof network);
  }
  std::string bytes_;
};

std::string int8_binary(int64_t value) {
  const auto bits = static_cast<uint64_t>(value);
  const std::array<uint32_t, 2> words = {htonl(static_cast<uint32_t>(bits >> 32)),
                                         htonl(static_cast<uint32_t>(bits & 0xffffffffU))};
  return std::string(reinterpret_cast<const char*>(words.data()), sizeof words);
}

int run_raw_postgres(const RawOptions& options) {
  vantage::open_postgres_storage(options.conninfo)->migrate();
  const std::vector<Document> documents = aged_documents(options.age_days);
  const std::vector<Batch> batches = all_batches(options.agents, options.results, options.batch);
  std::vector<std::string> names;
  for (size_t i = 0; i < options.agents; ++i) {
    names.push_back(agent_name(i, options.agent_prefix));
  }
  Postgres pg(options.conninfo);
  // The day partitions the rows go to, as the collector makes them before its first insert of a
  // day (collector/store/postgres_storage.cc), before the timing.
  std::set<int64_t> days;
  constexpr int64_t kDayMs = int64_t{24} * 3600 * 1000;
  for (const Document& document : documents) {
    days.insert(document.started_at_ms - document.started_at_ms % kDayMs);
  }
  for (const int64_t day : days) {
    const std::time_t seconds = day / 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    pg.expect(PQexec(pg.get(),
                     fmt::format("CREATE TABLE IF NOT EXISTS results_d{:04}{:02}{:02} "
                                 "PARTITION OF results FOR VALUES FROM ({}) TO ({})",
                                 utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, day, day + kDayMs)
                         .c_str()),
              PGRES_COMMAND_OK, "create partition");
  }
  const bool unnest = options.method == "unnest";
  if (unnest) {
    constexpr std::array<Oid, 9> kTypes = {1009, 1016,     1009, 1016, 1009,
                                           1001, kInt8Oid, 1009, 1009};
    pg.expect(
        PQprepare(pg.get(), "insert_batch",
                  "INSERT INTO results (agent, epoch, seq, domain, started_at, verdict, document, "
                  "document_zstd, received_at, summary, latency) SELECT b.agent, 0, b.seq, "
                  "b.domain, b.started_at, b.verdict, '', b.document, $7, b.summary, b.latency "
                  "FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], "
                  "$6::bytea[], $8::text[], $9::text[]) AS b(agent, seq, domain, started_at, "
                  "verdict, document, summary, latency) "
                  "ORDER BY b.agent, b.seq ON CONFLICT (agent, epoch, seq, started_at) DO NOTHING",
                  9, kTypes.data()),
        PGRES_COMMAND_OK, "prepare");
  } else {
    constexpr std::array<Oid, 9> kTypes = {kTextOid, kInt8Oid, kTextOid, kInt8Oid, kTextOid,
                                           17,       kInt8Oid, kTextOid, kTextOid};
    pg.expect(
        PQprepare(pg.get(), "insert_row",
                  "INSERT INTO results (agent, epoch, seq, domain, started_at, verdict, "
                  "document, document_zstd, received_at, summary, latency) VALUES ($1, 0, $2, "
                  "$3, $4, $5, '', $6, $7, $8, $9) ON CONFLICT (agent, epoch, seq, started_at) "
                  "DO NOTHING",
                  9, kTypes.data()),
        PGRES_COMMAND_OK, "prepare");
  }

  size_t inserted = 0;
  auto count_tuples = [&](const PGresult* result) {
    inserted +=
        static_cast<size_t>(std::strtoull(PQcmdTuples(const_cast<PGresult*>(result)), nullptr, 10));
  };
  const std::array<int, 9> binary = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  const Cpu before = cpu_now();
  const auto start = Clock::now();
  if (!unnest && PQenterPipelineMode(pg.get()) != 1) {
    pg.fail("pipeline mode");
  }
  for (const Batch& batch : batches) {
    const int64_t received_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    const std::string received = int8_binary(received_at);
    const std::string& agent = names[batch.agent];
    if (unnest) {
      BinaryArray agents(kTextOid, batch.count);
      BinaryArray seqs(kInt8Oid, batch.count);
      BinaryArray domains(kTextOid, batch.count);
      BinaryArray started(kInt8Oid, batch.count);
      BinaryArray verdicts(kTextOid, batch.count);
      BinaryArray texts(17, batch.count);  // bytea
      BinaryArray summaries(kTextOid, batch.count);
      BinaryArray latencies(kTextOid, batch.count);
      for (size_t i = 0; i < batch.count; ++i) {
        const uint64_t seq = batch.first + i;
        const Document& document = document_for(documents, batch.agent, seq);
        agents.add(agent);
        seqs.add(static_cast<int64_t>(seq));
        domains.add(document.domain);
        started.add(document.started_at_ms);
        verdicts.add(document.verdict);
        texts.add(document.compressed);
        summaries.add(document.summary);
        latencies.add(document.latency);
      }
      const std::array<const BinaryArray*, 6> arrays = {&agents,  &seqs,     &domains,
                                                        &started, &verdicts, &texts};
      std::array<const char*, 9> values{};
      std::array<int, 9> lengths{};
      for (size_t i = 0; i < arrays.size(); ++i) {
        values[i] = arrays[i]->bytes().data();
        lengths[i] = static_cast<int>(arrays[i]->bytes().size());
      }
      values[6] = received.data();
      lengths[6] = static_cast<int>(received.size());
      values[7] = summaries.bytes().data();
      lengths[7] = static_cast<int>(summaries.bytes().size());
      values[8] = latencies.bytes().data();
      lengths[8] = static_cast<int>(latencies.bytes().size());
      const PgResult result(PQexecPrepared(pg.get(), "insert_batch", 9, values.data(),
                                           lengths.data(), binary.data(), 0),
                            &PQclear);
      if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
        pg.fail("insert", result.get());
      }
      count_tuples(result.get());
      continue;
    }
    // One round trip per batch: BEGIN, the rows, COMMIT and a sync, read back together.
    if (PQsendQueryParams(pg.get(), "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
      pg.fail("BEGIN");
    }
    std::vector<std::string> seq_bytes(batch.count);
    std::vector<std::string> started_bytes(batch.count);
    for (size_t i = 0; i < batch.count; ++i) {
      const uint64_t seq = batch.first + i;
      const Document& document = document_for(documents, batch.agent, seq);
      seq_bytes[i] = int8_binary(static_cast<int64_t>(seq));
      started_bytes[i] = int8_binary(document.started_at_ms);
      const std::array<const char*, 9> values = {agent.data(),
                                                 seq_bytes[i].data(),
                                                 document.domain.data(),
                                                 started_bytes[i].data(),
                                                 document.verdict.data(),
                                                 document.compressed.data(),
                                                 received.data(),
                                                 document.summary.data(),
                                                 document.latency.data()};
      const std::array<int, 9> lengths = {static_cast<int>(agent.size()),
                                          8,
                                          static_cast<int>(document.domain.size()),
                                          8,
                                          static_cast<int>(document.verdict.size()),
                                          static_cast<int>(document.compressed.size()),
                                          8,
                                          static_cast<int>(document.summary.size()),
                                          static_cast<int>(document.latency.size())};
      if (PQsendQueryPrepared(pg.get(), "insert_row", 9, values.data(), lengths.data(),
                              binary.data(), 0) != 1) {
        pg.fail("insert");
      }
    }
    if (PQsendQueryParams(pg.get(), "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) != 1 ||
        PQpipelineSync(pg.get()) != 1) {
      pg.fail("COMMIT");
    }
    // Each query's result is followed by a NULL; the sync ends the batch.
    for (;;) {
      PgResult result(PQgetResult(pg.get()), &PQclear);
      if (!result) {
        continue;
      }
      const ExecStatusType status = PQresultStatus(result.get());
      if (status == PGRES_PIPELINE_SYNC) {
        break;
      }
      if (status != PGRES_COMMAND_OK) {
        pg.fail("pipelined batch", result.get());
      }
      if (std::string_view(PQcmdStatus(result.get())).starts_with("INSERT")) {
        count_tuples(result.get());
      }
    }
  }
  const auto end = Clock::now();
  const Cpu after = cpu_now();
  if (!unnest && PQexitPipelineMode(pg.get()) != 1) {
    pg.fail("pipeline mode");
  }
  if (options.age_days > 0) {
    pg.expect(PQexec(pg.get(), kBacklogFolded), PGRES_COMMAND_OK, "fold mark");
  }
  print_raw("postgres", options, inserted, seconds_between(start, end), before, after,
            unnest ? " method=unnest-insert" : " method=pipelined-row-inserts");
  return inserted == options.results ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// phases: what the collector does with one batch, step by step, in this process (no HTTP):
// inflating the gzip body, the one parse into typed cycles (checks, summaries, the received
// bytes kept), the store.

int run_phases(size_t results, size_t batch_size, const std::string& db) {
  const std::vector<Document> documents = make_documents();
  const std::vector<Batch> batches =
      all_batches(std::max<size_t>(1, results / batch_size / 2), results, batch_size);
  std::unique_ptr<vantage::Storage> storage;
  if (!db.empty()) {
    storage = vantage::open_sqlite_storage(db);
    storage->migrate();
  }
  std::string body;
  std::string compressed;
  double build_s = 0;
  double inflate_s = 0;
  double parse_s = 0;
  double store_s = 0;
  size_t count = 0;
  const Cpu before = cpu_now();
  for (const Batch& batch : batches) {
    const std::string name = agent_name(batch.agent);
    const auto t0 = Clock::now();
    build_body(body, name, batch.agent, batch, documents);
    compressed = vantage::gzip_fast(body);
    const auto t1 = Clock::now();
    const std::string inflated = vantage::gunzip_bounded(compressed, size_t{8} << 20);
    const auto t2 = Clock::now();
    const auto checked =
        vantage::parse_result_batch(inflated, name, std::chrono::system_clock::now());
    const auto t3 = Clock::now();
    if (storage) {
      storage->store_results(checked.results);
    }
    const auto t4 = Clock::now();
    build_s += seconds_between(t0, t1);
    inflate_s += seconds_between(t1, t2);
    parse_s += seconds_between(t2, t3);
    store_s += seconds_between(t3, t4);
    count += checked.results.size();
  }
  const Cpu after = cpu_now();
  auto per = [&](double s) { return s * 1e6 / static_cast<double>(count); };
  fmt::print(
      "results={} batch={} document_bytes={} us_per_result: build_and_gzip_body={:.2f} "
      "gunzip={:.2f} parse_result_batch={:.2f} store_results={:.2f} cpu_s={:.2f}\n",
      count, batch_size, documents.front().text.size(), per(build_s), per(inflate_s), per(parse_s),
      per(store_s), (after.user_s + after.sys_s) - (before.user_s + before.sys_s));
  return 0;
}

}  // namespace

namespace {

int run_main(int argc, char** argv) {
  CLI::App app{
      "Posts realistic result batches to a vantage-collector, or measures the raw "
      "batched-insert rate of the same rows."};
  app.require_subcommand(1);

  StoreTarget tokens_store;
  size_t token_agents = 1000;
  std::string tokens_out;
  auto* tokens = app.add_subcommand("tokens", "migrate a store and create agent tokens in it");
  auto* tokens_sqlite = tokens->add_option("--sqlite", tokens_store.sqlite, "SQLite file");
  tokens->add_option("--postgres", tokens_store.postgres, "libpq conninfo")
      ->excludes(tokens_sqlite);
  tokens->add_option("--agents", token_agents, "agents (one token each)")
      ->check(CLI::Range(size_t{1}, size_t{100'000}));
  tokens->add_option("--out", tokens_out, "file of NAME TOKEN lines")->required();

  StoreTarget count_store;
  auto* count = app.add_subcommand("count", "print the number of stored results");
  auto* count_sqlite = count->add_option("--sqlite", count_store.sqlite, "SQLite file");
  count->add_option("--postgres", count_store.postgres, "libpq conninfo")->excludes(count_sqlite);

  LoadOptions load_options;
  auto* load = app.add_subcommand("load", "post batches to a running collector");
  load->add_option("--url", load_options.url, "collector base URL, http://127.0.0.1:PORT")
      ->required();
  load->add_option("--tokens", load_options.tokens_file, "file of NAME TOKEN lines")->required();
  load->add_option("--seconds", load_options.seconds,
                   "stop sending new batches after this long (then --results is a ceiling)")
      ->check(CLI::Range(0.0, 3600.0));
  load->add_option("--results", load_options.results, "results to post in all")
      ->check(CLI::Range(size_t{1}, size_t{100'000'000}));
  load->add_option("--batch", load_options.batch, "results per request")
      ->check(CLI::Range(size_t{1}, vantage::kMaxResultsPerBatch));
  load->add_option("--connections", load_options.connections, "keep-alive connections")
      ->check(CLI::Range(size_t{1}, size_t{1000}));
  load->add_option("--first-seq", load_options.first_seq,
                   "each agent's first seq (continue an earlier load into the same store)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 62));
  load->add_option("--max-seconds", load_options.max_seconds, "give up after this long")
      ->check(CLI::Range(1, 3600));

  RawOptions raw_options;
  auto add_raw = [&](CLI::App* raw) {
    raw->add_option("--age-days", raw_options.age_days, "rows this many days old (a backlog)")
        ->check(CLI::Range(0, 3650));
    raw->add_option("--agent-prefix", raw_options.agent_prefix,
                    "the agents' names: PREFIX-0001, ... (default bench-agent, the load's)");
    raw->add_option("--agents", raw_options.agents, "agents the rows belong to")
        ->check(CLI::Range(size_t{1}, size_t{100'000}));
    raw->add_option("--results", raw_options.results, "rows to insert")
        ->check(CLI::Range(size_t{1}, size_t{100'000'000}));
    raw->add_option("--batch", raw_options.batch, "rows per transaction")
        ->check(CLI::Range(size_t{1}, vantage::kMaxResultsPerBatch));
  };
  auto* raw_sqlite = app.add_subcommand("raw-sqlite", "raw batched inserts into SQLite");
  raw_sqlite->add_option("--db", raw_options.db, "SQLite file (created)")->required();
  add_raw(raw_sqlite);
  auto* raw_postgres = app.add_subcommand("raw-postgres", "raw batched inserts into PostgreSQL");
  raw_postgres->add_option("--conninfo", raw_options.conninfo, "libpq conninfo")->required();
  raw_postgres
      ->add_option("--method", raw_options.method,
                   "unnest: the collector's one-statement batch; rows: pipelined per-row INSERTs")
      ->check(CLI::IsMember({"unnest", "rows"}));
  add_raw(raw_postgres);

  size_t phase_results = 20'000;
  size_t phase_batch = 100;
  std::string phase_db;
  auto* phases = app.add_subcommand("phases", "time the collector's steps in-process");
  phases->add_option("--results", phase_results, "results")
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}));
  phases->add_option("--batch", phase_batch, "results per batch")
      ->check(CLI::Range(size_t{1}, vantage::kMaxResultsPerBatch));
  phases->add_option("--db", phase_db, "also time store_results into this SQLite file");

  CLI11_PARSE(app, argc, argv);

  try {
    if (*tokens) {
      if (tokens_store.sqlite.empty() && tokens_store.postgres.empty()) {
        throw CLI::RequiredError("--sqlite or --postgres");
      }
      return run_tokens(tokens_store, token_agents, tokens_out);
    }
    if (*count) {
      if (count_store.sqlite.empty() && count_store.postgres.empty()) {
        throw CLI::RequiredError("--sqlite or --postgres");
      }
      return run_count(count_store);
    }
    if (*load) {
      curl_global_init(CURL_GLOBAL_DEFAULT);
      const int status = run_load(load_options);
      curl_global_cleanup();
      return status;
    }
    if (*raw_sqlite) {
      return run_raw_sqlite(raw_options);
    }
    if (*raw_postgres) {
      return run_raw_postgres(raw_options);
    }
    if (*phases) {
      return run_phases(phase_results, phase_batch, phase_db);
    }
  } catch (const CLI::Error& error) {
    return app.exit(error);
  } catch (const std::exception& error) {
    fmt::print(stderr, "vantage-ingest-bench: {}\n", error.what());
    return 1;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (...) {
    std::fputs("vantage-ingest-bench: unexpected error\n", stderr);
    return 1;
  }
}
