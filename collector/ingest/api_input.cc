#include "api_input.hh"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <optional>
#include <utility>

#include "body_pattern.hh"
#include "cycle_summary.hh"
#include "printable.hh"
#include "result_json.hh"
#include "target.hh"

namespace vantage {

CheckLatencies check_latencies(const CycleResult& cycle) {
  CheckLatencies latencies{};
  for (const ProbeResult& result : cycle.results) {
    const auto check = static_cast<size_t>(result.check);
    if (check >= kTimedChecks || !result.ok() || !result.timings.total) {
      continue;
    }
    auto& slowest = latencies[check];
    slowest = std::max(slowest.value_or(std::chrono::microseconds(0)), *result.timings.total);
  }
  return latencies;
}

namespace {

using nlohmann::json;

constexpr size_t kMaxPathLength = 2048;
constexpr size_t kMaxRegexLength = 1024;
constexpr size_t kMaxExpectStatus = 32;
constexpr size_t kMaxVersionLength = 64;
// An agent's batches are at most 4 MiB of results; a worker's parser keeps room for that.
constexpr size_t kKeptParserCapacity = size_t{4} << 20;
// A cycle may come from a spool that waited days for the collector; but not from before this
// project existed.
constexpr auto kEarliestStart = std::chrono::sys_days{std::chrono::year{2020} / 1 / 1};

// "45s", "12m30s", "23h0m": a clock difference as an operator reads it.
std::string span_text(std::chrono::milliseconds span) {
  const int64_t seconds = std::chrono::round<std::chrono::seconds>(span).count();
  if (seconds < 120) {
    return fmt::format("{}s", seconds);
  }
  if (seconds < 7200) {
    return fmt::format("{}m{}s", seconds / 60, seconds % 60);
  }
  return fmt::format("{}h{}m", seconds / 3600, seconds % 3600 / 60);
}

// A JSON integer as int64, or nullopt for anything else (floats too: "443.0" is not a port).
std::optional<int64_t> integer_of(const json& value) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<uint64_t>();
    if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<int64_t>(number);
  }
  if (value.is_number_integer()) {
    return value.get<int64_t>();
  }
  return std::nullopt;
}

int64_t integer_field(const json& object, const std::string& where, const char* name, int64_t min,
                      int64_t max) {
  const auto found = object.find(name);
  if (found == object.end()) {
    throw ApiError(422, fmt::format("{}missing field \"{}\"", where, name));
  }
  const auto value = integer_of(*found);
  if (!value || *value < min || *value > max) {
    throw ApiError(
        422, fmt::format("{}{}: must be a whole number from {} to {}", where, name, min, max));
  }
  return *value;
}

std::string string_field(const json& object, const std::string& where, const char* name) {
  const auto found = object.find(name);
  if (found == object.end()) {
    throw ApiError(422, fmt::format("{}missing field \"{}\"", where, name));
  }
  if (!found->is_string()) {
    throw ApiError(422, fmt::format("{}{}: must be a string", where, name));
  }
  return found->get<std::string>();
}

// The optional top-level "epoch" of an upload or heartbeat: 0 when absent, as agents older than
// epochs send none.
uint64_t epoch_field(const json& body) {
  if (!body.contains("epoch")) {
    return 0;
  }
  return static_cast<uint64_t>(
      integer_field(body, "", "epoch", 0, std::numeric_limits<int64_t>::max()));
}

void require_object(const json& value, const std::string& what) {
  if (!value.is_object()) {
    throw ApiError(422, fmt::format("{} must be a JSON object", what));
  }
}

void check_agent(const json& body, const std::string& caller) {
  const std::string agent = string_field(body, "", "agent");
  if (agent != caller) {
    throw ApiError(403,
                   fmt::format("the token belongs to agent \"{}\", not to \"{}\"", caller, agent));
  }
}

// Counts nesting outside strings; linear and allocation-free, so it is safe on hostile input.
bool nests_deeper_than(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) {
        return true;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// zlib's stream with inflateEnd guaranteed.
class Inflater {
 public:
  Inflater() {
    // 16 + MAX_WBITS: a gzip wrapper, nothing else.
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) {
      throw std::runtime_error("zlib: inflateInit2 failed");
    }
  }
  ~Inflater() { inflateEnd(&stream_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  z_stream* get() { return &stream_; }

 private:
  z_stream stream_{};
};

std::string_view without_trailing_space(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

std::string results_shape() {
  return fmt::format("results: must be a list of 1 to {} results", kMaxResultsPerBatch);
}

// Out of the walk over an upload once one of its results is refused.
struct StopReading {};

// The upload's members other than its results, checked after the walk (members come in any
// order), in the order a sender should fix them: schema version, agent, epoch.
class BatchHeader {
 public:
  bool has_results = false;

  void read_version(json_walk::value member) {
    has_version_ = true;
    version_text_ = without_trailing_space(member.raw_json_token());
    version_ = json_walk::integer_of(member);
    if (!version_) {
      json_walk::skip(member, 1);
    }
  }

  void read_agent(json_walk::value member) {
    has_agent_ = true;
    std::string_view text;
    const auto error = member.get_string().get(text);
    if (error == simdjson::INCORRECT_TYPE) {
      agent_.reset();
      json_walk::skip(member, 1);
      return;
    }
    json_walk::check(error);
    agent_ = std::string(text);
  }

  void read_epoch(json_walk::value member) {
    epoch_ = json_walk::integer_of(member);
    if (!epoch_) {
      json_walk::skip(member, 1);
    }
    epoch_valid_ = epoch_ && *epoch_ >= 0;
  }

  uint64_t epoch() const { return epoch_ ? static_cast<uint64_t>(*epoch_) : 0; }

  // After a refused result: the members the walk did not reach, looked up again.
  void find_again(simdjson::ondemand::document& document) {
    // An error inside the text (reported to the walk as a wrong type) leaves the document
    // abandoned: nothing more can be read from it.
    if (!document.is_alive()) {
      unreadable_ = true;
      return;
    }
    try {
      document.rewind();
      simdjson::ondemand::object root;
      json_walk::check(document.get_object().get(root));
      json_walk::value member;
      if (!has_version_ && root.find_field_unordered("schema_version").get(member) == 0) {
        read_version(member);
      }
      // Reading the version may have met an error inside the text, which abandons the document
      // too: looking further would use a parser it no longer has (found by fuzz_upload).
      if (!document.is_alive()) {
        unreadable_ = true;
        return;
      }
      if (!has_agent_ && root.find_field_unordered("agent").get(member) == 0) {
        read_agent(member);
      }
    } catch (const MalformedJson&) {
      // Unreadable past the refused result: that result's refusal is the answer.
      unreadable_ = true;
    }
  }

  void check(const std::string& caller) const {
    if (unreadable_) {
      return;
    }
    if (!has_version_) {
      throw ApiError(422, "missing field \"schema_version\"");
    }
    if (version_ != kApiSchemaVersion) {
      throw ApiError(422, fmt::format("unsupported schema_version {} (this collector reads {})",
                                      printable(version_text_), kApiSchemaVersion));
    }
    if (!has_agent_) {
      throw ApiError(422, "missing field \"agent\"");
    }
    if (!agent_) {
      throw ApiError(422, "agent: must be a string");
    }
    if (*agent_ != caller) {
      throw ApiError(403, fmt::format("the token belongs to agent \"{}\", not to \"{}\"", caller,
                                      printable(*agent_)));
    }
    if (!epoch_valid_) {
      throw ApiError(422, fmt::format("epoch: must be a whole number from 0 to {}",
                                      std::numeric_limits<int64_t>::max()));
    }
  }

 private:
  bool has_version_ = false;
  std::optional<int64_t> version_;
  std::string version_text_;  // as sent, for the refusal
  bool has_agent_ = false;
  std::optional<std::string> agent_;  // nullopt: not a string
  std::optional<int64_t> epoch_;
  bool epoch_valid_ = true;
  bool unreadable_ = false;
};

// The results of an upload, into the batch: results[] is the body's second level, each result
// its third, each cycle its fourth.
struct BatchReader {
  const std::string& caller;
  TimePoint now;
  std::chrono::milliseconds max_clock_skew;

  void read_results(json_walk::value list, ResultBatch& batch) const {
    simdjson::ondemand::array array;
    const auto error = list.get_array().get(array);
    if (error == simdjson::INCORRECT_TYPE) {
      throw ApiError(422, results_shape());
    }
    json_walk::check(error);
    size_t index = 0;
    for (auto element : array) {
      json_walk::value item;
      // simdjson_result::get is &&-qualified: the move is what lets us call it.
      json_walk::check(std::move(element).get(item));  // NOLINT(performance-move-const-arg)
      if (index == kMaxResultsPerBatch) {
        throw ApiError(422, results_shape());
      }
      read_result(item, index++, batch);
    }
    if (index == 0) {
      throw ApiError(422, results_shape());
    }
  }

  void read_result(json_walk::value item, size_t index, ResultBatch& batch) const {
    const std::string where = fmt::format("results[{}]", index);
    simdjson::ondemand::object entry;
    const auto error = item.get_object().get(entry);
    if (error == simdjson::INCORRECT_TYPE) {
      throw ApiError(422, fmt::format("{} must be a JSON object", where));
    }
    json_walk::check(error);
    std::optional<uint64_t> seq;
    std::optional<CycleResult> cycle;
    std::string_view received;
    json_walk::members(entry, 3, [&](std::string_view key, json_walk::value member) {
      if (key == "seq") {
        const auto number = json_walk::integer_of(member);
        if (!number || *number < 1) {
          throw ApiError(422, fmt::format("{}.seq: must be a whole number from 1 to {}", where,
                                          std::numeric_limits<int64_t>::max()));
        }
        seq = static_cast<uint64_t>(*number);
      } else if (key == "cycle") {
        cycle = read_cycle(member, where, received);
      } else {
        return false;
      }
      return true;
    });
    if (!seq) {
      throw ApiError(422, fmt::format("{}: missing field \"seq\"", where));
    }
    if (!cycle) {
      throw ApiError(422, fmt::format("{}: missing field \"cycle\"", where));
    }
    check_cycle(*cycle, where);
    batch.max_seq = std::max(batch.max_seq, *seq);
    batch.cycles.push_back(summarize(caller, std::nullopt, *cycle));
    batch.results.push_back(StoredResult{.agent = caller,
                                         .seq = *seq,
                                         .domain = cycle->domain,
                                         .started_at = cycle->started_at,
                                         .verdict = std::string(to_string(cycle->reading.verdict)),
                                         .document = std::string(received),
                                         .summary = encode_summary(batch.cycles.back()),
                                         .latencies = check_latencies(*cycle)});
  }

  // The cycle, and in `received` its bytes as sent: the object is passed over once for its
  // extent (on simdjson's structural index, without reading a value), then read.
  static CycleResult read_cycle(json_walk::value member, const std::string& where,
                                std::string_view& received) {
    simdjson::ondemand::object object;
    const auto error = member.get_object().get(object);
    if (error == simdjson::INCORRECT_TYPE) {
      throw ApiError(422, fmt::format("{}.cycle: a cycle must be an object", where));
    }
    json_walk::check(error);
    json_walk::check(object.raw_json().get(received));
    received = without_trailing_space(received);
    bool has_members = false;
    json_walk::check(object.reset().get(has_members));
    try {
      return cycle_from_json(object, 4);
    } catch (const std::invalid_argument& refused) {
      throw ApiError(422, fmt::format("{}.cycle: {}", where, refused.what()));
    }
  }

  void check_cycle(CycleResult& cycle, const std::string& where) const {
    const auto domain = canonical_target_name(cycle.domain);
    if (!domain) {
      throw ApiError(422, fmt::format("{}.cycle.domain: \"{}\" is not a domain name or an IP "
                                      "address",
                                      where, printable(cycle.domain)));
    }
    cycle.domain = *domain;
    if (cycle.started_at < kEarliestStart) {
      throw ApiError(422, fmt::format("{}.cycle.started_at: {} is before 2020; is the agent's "
                                      "clock right?",
                                      where, format_time(cycle.started_at)));
    }
    if (cycle.duration.count() < 0 || cycle.duration > std::chrono::hours(24)) {
      throw ApiError(
          422, fmt::format("{}.cycle.duration_us: must be from 0 to a day (86400000000)", where));
    }
    // The end too: a long duration would otherwise keep the vantage fresh into the future.
    for (const auto& [field, at] :
         {std::pair{"started_at", cycle.started_at},
          std::pair{"end (started_at + duration_us)", cycle.started_at + cycle.duration}}) {
      if (at > now + max_clock_skew) {
        const auto ahead = std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
        throw ApiError(
            422, fmt::format("{}.cycle.{}: {} is {} ahead of the collector's clock ({}); at most "
                             "{} is accepted (limits.max_clock_skew): check the agent's clock "
                             "(NTP)",
                             where, field, format_time(at), span_text(ahead), format_time(now),
                             span_text(max_clock_skew)));
      }
    }
  }
};

}  // namespace

json parse_json_body(std::string_view body) {
  if (nests_deeper_than(body, kMaxJsonDepth)) {
    throw ApiError(400, fmt::format("malformed JSON: nested deeper than {} levels", kMaxJsonDepth));
  }
  try {
    return json::parse(body);
  } catch (const json::parse_error& error) {
    throw ApiError(400, fmt::format("malformed JSON at byte {}", error.byte));
  } catch (const json::out_of_range&) {
    // nlohmann's 406: a number beyond a double, such as 1e400, is not a parse_error.
    throw ApiError(400, "malformed JSON: a number is out of range (beyond a 64-bit float)");
  } catch (const json::exception& error) {
    throw ApiError(400, fmt::format("malformed JSON (nlohmann error {})", error.id));
  }
}

std::string gunzip_bounded(std::string_view compressed, size_t max_bytes) {
  Inflater inflater;
  z_stream* stream = inflater.get();
  // zlib's interface is not const-correct; it never writes through next_in.
  stream->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream->avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  std::array<char, size_t{64} * 1024> chunk{};
  for (;;) {
    stream->next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream->avail_out = static_cast<uInt>(chunk.size());
    const int status = inflate(stream, Z_NO_FLUSH);
    const size_t produced = chunk.size() - stream->avail_out;
    if (out.size() + produced > max_bytes) {
      throw ApiError(413, fmt::format("body inflates to more than {} bytes", max_bytes));
    }
    out.append(chunk.data(), produced);
    if (status == Z_STREAM_END) {
      if (stream->avail_in != 0) {
        throw ApiError(400, "gzip body has data after its end");
      }
      return out;
    }
    // There is always fresh room for output, so a buffer error means the input ran out.
    if (status == Z_BUF_ERROR) {
      throw ApiError(400, "gzip body is truncated");
    }
    if (status != Z_OK) {
      throw ApiError(400, "body is not valid gzip");
    }
  }
}

ResultBatch parse_result_batch(std::string_view body, const std::string& caller, TimePoint now,
                               std::chrono::milliseconds max_clock_skew) {
  // One parser per worker thread keeps its buffers from one upload to the next, up to a size an
  // agent's batches reach; a larger body's (about six times its size) are freed after it, so a
  // few outsized uploads do not leave every worker holding tens of megabytes.
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string padded;
  struct ReleaseAfterLarge {
    bool large;
    ~ReleaseAfterLarge() {
      if (large) {
        parser = simdjson::ondemand::parser{};
        padded = std::string{};
      }
    }
  } const release{body.size() > kKeptParserCapacity};
  padded.assign(body);
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  const BatchReader reader{caller, now, max_clock_skew};
  ResultBatch batch;
  BatchHeader header;
  std::optional<ApiError> refused;
  simdjson::ondemand::document document;
  try {
    json_walk::check(parser.iterate(padded.data(), body.size(), padded.size()).get(document));
    simdjson::ondemand::object root;
    const auto error = document.get_object().get(root);
    if (error == simdjson::INCORRECT_TYPE) {
      throw ApiError(422, "the body must be a JSON object");
    }
    json_walk::check(error);
    json_walk::members(root, 1, [&](std::string_view key, json_walk::value member) {
      if (key == "schema_version") {
        header.read_version(member);
      } else if (key == "agent") {
        header.read_agent(member);
      } else if (key == "epoch") {
        header.read_epoch(member);
      } else if (key == "results") {
        header.has_results = true;
        try {
          reader.read_results(member, batch);
        } catch (const ApiError& error) {
          refused = error;
          throw StopReading{};
        }
      } else {
        return false;
      }
      return true;
    });
    json_walk::check_end(document);
  } catch (const MalformedJson& error) {
    throw ApiError(400, error.what());
  } catch (const StopReading&) {
    // The schema version and the agent may follow the results: they are refused first.
    header.find_again(document);
  }
  header.check(caller);
  if (refused) {
    throw *refused;
  }
  if (!header.has_results) {
    throw ApiError(422, "missing field \"results\"");
  }
  batch.epoch = header.epoch();
  for (auto& result : batch.results) {
    result.epoch = batch.epoch;
  }
  return batch;
}

AgentRecord parse_heartbeat(const json& body, const std::string& caller, const std::string& peer,
                            TimePoint now) {
  require_object(body, "the body");
  check_agent(body, caller);
  AgentRecord agent;
  agent.name = caller;
  agent.address = peer;
  agent.last_seen = now;
  if (body.contains("version")) {
    agent.version = string_field(body, "", "version");
    if (agent.version.size() > kMaxVersionLength) {
      throw ApiError(422, fmt::format("version: longer than {} characters", kMaxVersionLength));
    }
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (body.contains("uptime_s")) {
    agent.uptime_s = integer_field(body, "", "uptime_s", 0, kMax);
  }
  if (body.contains("spool_depth")) {
    agent.spool_depth = integer_field(body, "", "spool_depth", 0, kMax);
  }
  if (body.contains("spool_dropped")) {
    agent.spool_dropped = integer_field(body, "", "spool_dropped", 0, kMax);
  }
  agent.epoch = epoch_field(body);
  if (body.contains("asn") && !body["asn"].is_null()) {
    agent.asn = integer_field(body, "", "asn", 1, 4294967294);
  }
  return agent;
}

std::optional<std::chrono::milliseconds> parse_heartbeat_interval(const json& body) {
  if (!body.is_object() || !body.contains("interval_ms") || body["interval_ms"].is_null()) {
    return std::nullopt;
  }
  constexpr int64_t kDayMs = int64_t{24} * 3600 * 1000;
  return std::chrono::milliseconds(integer_field(body, "", "interval_ms", 1, kDayMs));
}

Target parse_target(const json& body) {
  require_object(body, "the body");
  static constexpr std::array<std::string_view, 9> kKeys = {
      "domain",     "kind",    "port",     "path",       "expect_status",
      "body_regex", "ca_file", "insecure", "warn_before"};
  for (const auto& [key, value] : body.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      throw ApiError(422, fmt::format("unknown field \"{}\" (expected domain, kind, port, path, "
                                      "expect_status, body_regex, ca_file, insecure, "
                                      "warn_before)",
                                      key));
    }
  }
  Target target;
  const std::string domain = string_field(body, "", "domain");
  const auto canonical = canonical_target_name(domain);
  if (!canonical) {
    throw ApiError(422, fmt::format("domain: \"{}\" is not a domain name or an IP address",
                                    printable(domain)));
  }
  target.domain = *canonical;
  if (body.contains("kind")) {
    const std::string kind = string_field(body, "", "kind");
    const auto parsed = target_kind_from_string(kind);
    if (!parsed) {
      throw ApiError(422, fmt::format("kind: \"{}\" is not https, http or tcp", printable(kind)));
    }
    target.kind = *parsed;
  }
  target.port = default_port(target.kind);
  if (body.contains("port")) {
    target.port = static_cast<int>(integer_field(body, "", "port", 1, 65535));
  } else if (target.kind == TargetKind::Tcp) {
    throw ApiError(422, "port: a tcp target needs its port");
  }
  if (body.contains("path")) {
    target.path = string_field(body, "", "path");
    const bool visible = std::all_of(target.path.begin(), target.path.end(), [](char c) {
      return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
    });
    if (target.path.empty() || target.path.front() != '/' || !visible ||
        target.path.size() > kMaxPathLength) {
      throw ApiError(422, fmt::format("path: \"{}\" must start with / and hold no spaces",
                                      printable(target.path)));
    }
  }
  if (body.contains("expect_status")) {
    const json& statuses = body["expect_status"];
    if (!statuses.is_array() || statuses.size() > kMaxExpectStatus) {
      throw ApiError(422, fmt::format("expect_status: must be a list of at most {} HTTP statuses",
                                      kMaxExpectStatus));
    }
    for (size_t i = 0; i < statuses.size(); ++i) {
      const auto status = integer_of(statuses[i]);
      if (!status || *status < 100 || *status > 599) {
        throw ApiError(422, fmt::format("expect_status[{}]: must be a whole number from 100 to "
                                        "599",
                                        i));
      }
      target.expect_status.push_back(static_cast<int>(*status));
    }
  }
  if (body.contains("body_regex")) {
    target.body_regex = string_field(body, "", "body_regex");
    if (target.body_regex.size() > kMaxRegexLength) {
      throw ApiError(422, fmt::format("body_regex: longer than {} characters", kMaxRegexLength));
    }
    if (const auto compiled = BodyPattern::compile(target.body_regex); !compiled.error.empty()) {
      throw ApiError(422, fmt::format("body_regex: \"{}\" is not a valid regular expression (RE2 "
                                      "syntax): {}",
                                      target.body_regex, compiled.error));
    }
  }
  if (body.contains("ca_file")) {
    target.ca_file = string_field(body, "", "ca_file");
    const bool visible = std::all_of(target.ca_file.begin(), target.ca_file.end(), [](char c) {
      return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    });
    if (!target.ca_file.empty() &&
        (target.ca_file.front() != '/' || !visible || target.ca_file.size() > kMaxPathLength)) {
      throw ApiError(422, fmt::format("ca_file: \"{}\" must be an absolute path on the agents",
                                      printable(target.ca_file)));
    }
  }
  if (body.contains("insecure")) {
    if (!body["insecure"].is_boolean()) {
      throw ApiError(422, "insecure: must be true or false");
    }
    target.insecure = body["insecure"].get<bool>();
  }
  if (body.contains("warn_before")) {
    if (const auto problem = read_expiry_thresholds(body["warn_before"], target.warn_before);
        !problem.empty()) {
      throw ApiError(422, problem);
    }
  }
  if (const std::string problem = target_kind_problem(
          target.kind, target.path, !target.expect_status.empty() || !target.body_regex.empty(),
          !target.ca_file.empty() || target.insecure);
      !problem.empty()) {
    throw ApiError(422, "kind: " + problem);
  }
  return target;
}

std::string normalize_domain(std::string_view name) {
  auto canonical = canonical_target_name(name);
  if (!canonical) {
    throw ApiError(400,
                   fmt::format("\"{}\" is not a domain name or an IP address", printable(name)));
  }
  return std::move(*canonical);
}

std::vector<size_t> drop_results_before(ResultBatch& batch, TimePoint horizon) {
  std::vector<size_t> kept;
  kept.reserve(batch.results.size());
  size_t next = 0;
  for (size_t i = 0; i < batch.results.size(); ++i) {
    if (batch.results[i].started_at < horizon) {
      continue;
    }
    kept.push_back(i);
    if (next != i) {
      batch.results[next] = std::move(batch.results[i]);
      batch.cycles[next] = std::move(batch.cycles[i]);
    }
    ++next;
  }
  batch.results.resize(next);
  batch.cycles.resize(next);
  return kept;
}

}  // namespace vantage
