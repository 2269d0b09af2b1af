// POST /api/v1/results as the collector reads it: the body, gzip or not, read once into the batch
// with every cycle in it. What it accepts must be JSON (nlohmann, the writer's library, is the
// judge) and each stored document must read back as a cycle: otherwise it aborts.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api_input.hh"
#include "cycle_reader.hh"

namespace {

// Small enough that a body inflating past it is explored too.
constexpr size_t kMaxInflatedBytes = 1 << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  // A fixed "now" (2027-01-15) keeps every run reproducible: the batch checks cycle times against
  // it, and the seed cycles are from before it.
  const vantage::TimePoint now{std::chrono::milliseconds(1'800'000'000'000)};
  try {
    std::string inflated;
    if (body.size() >= 2 && body[0] == '\x1f' && body[1] == '\x8b') {
      inflated = vantage::gunzip_bounded(body, kMaxInflatedBytes);
      body = inflated;
    }
    const auto batch = vantage::parse_result_batch(body, "vp-1", now);
    if (!nlohmann::json::accept(body)) {
      std::abort();
    }
    for (const auto& result : batch.results) {
      (void)vantage::cycle_from_json(result.document);
    }
  } catch (const vantage::ApiError&) {
    // The 4xx answer: exactly what hostile input must get.
  }
  return 0;
}
