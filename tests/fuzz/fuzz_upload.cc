// POST /api/v1/results as the collector reads it: the body, gzip or not, then the JSON, then the
// batch with every cycle in it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api_input.hh"

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
    (void)vantage::parse_result_batch(vantage::parse_json_body(body), "vp-1", now);
  } catch (const vantage::ApiError&) {
    // The 4xx answer: exactly what hostile input must get.
  }
  return 0;
}
