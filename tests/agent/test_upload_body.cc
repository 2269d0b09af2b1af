#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "api_input.hh"
#include "result_json.hh"
#include "sample_cycle.hh"
#include "spool.hh"
#include "upload_body.hh"

using namespace vantage;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "vantage-upload-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

// A cycle document as the agent spools it.
std::string spooled_cycle(const std::string& domain) {
  return to_json(vantage::testing::healthy_cycle(domain)).dump();
}

constexpr size_t kCollectorBodyLimit = size_t{8} << 20;
constexpr uint64_t kEpoch = 1764201600123456;

}  // namespace

TEST_CASE("the collector reads the agent's gzipped batch as the spooled results, byte for byte",
          "[upload]") {
  TempDir dir;
  Spool spool(dir.path, 1 << 20);
  spool.append(spooled_cycle("one.example"));
  spool.append(spooled_cycle("two.example"));
  spool.append(spooled_cycle("three.example"));
  spool.acknowledge(1);
  const auto entries = spool.oldest(10, 1 << 20);
  REQUIRE(entries.size() == 2);

  const std::string body = gzip_fast(upload_body("vp-1", kEpoch, entries));
  const std::string text = upload_body("vp-1", kEpoch, entries);
  CHECK(body.size() < text.size() / 2);  // what the wire carries

  const ResultBatch batch = parse_result_batch(gunzip_bounded(body, kCollectorBodyLimit), "vp-1",
                                               std::chrono::system_clock::now());
  CHECK(batch.epoch == kEpoch);
  REQUIRE(batch.results.size() == 2);
  for (size_t i = 0; i < entries.size(); ++i) {
    CHECK(batch.results[i].agent == "vp-1");
    CHECK(batch.results[i].seq == entries[i].seq);
    CHECK(batch.results[i].document == entries[i].document);
  }
  CHECK(batch.results[1].domain == "three.example");
}

TEST_CASE("the agent's name goes into the batch as a JSON string, whatever it holds", "[upload]") {
  const std::string name = "quote\" backslash\\ newline\n";
  const auto batch = nlohmann::json::parse(upload_body(name, 0, {{7, "{}"}}));
  CHECK(batch.at("agent") == name);
  CHECK(batch.at("epoch") == 0);
  CHECK(batch.at("schema_version") == 1);
  CHECK(batch.at("results") == nlohmann::json::parse(R"([{"cycle":{},"seq":7}])"));
}

TEST_CASE("a spooled result torn or corrupted on disk makes its batch one the collector refuses",
          "[upload]") {
  const std::string good = spooled_cycle("good.example");
  const auto now = std::chrono::system_clock::now();
  for (const std::string& corrupted : {good.substr(0, good.size() / 2), std::string(),
                                       std::string(64, '\0'), std::string(R"({"n":1})")}) {
    INFO(corrupted);
    const std::string body = upload_body("vp-1", kEpoch, {{1, good}, {2, corrupted}, {3, good}});
    try {
      parse_result_batch(body, "vp-1", now);
      FAIL("the collector accepted a batch with a corrupted result");
    } catch (const ApiError& error) {
      // 400 or 422: the uploader narrows such a batch down to the one result and sets it aside.
      CHECK((error.status() == 400 || error.status() == 422));
    }
  }
  // The good ones on their own are accepted.
  CHECK(parse_result_batch(upload_body("vp-1", kEpoch, {{1, good}, {3, good}}), "vp-1", now)
            .results.size() == 2);
}
