// The other bodies agents and operators send: POST /api/v1/heartbeat and POST /api/v1/targets.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api_input.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const vantage::TimePoint now{std::chrono::milliseconds(1'800'000'000'000)};
  nlohmann::json json;
  try {
    json = vantage::parse_json_body(body);
  } catch (const vantage::ApiError&) {
    return 0;
  }
  try {
    (void)vantage::parse_heartbeat(json, "vp-1", "127.0.0.1", now);
    (void)vantage::parse_heartbeat_interval(json);
  } catch (const vantage::ApiError&) {
  }
  try {
    const auto target = vantage::parse_target(json);
    (void)vantage::to_json(target).dump();
  } catch (const vantage::ApiError&) {
  }
  return 0;
}
