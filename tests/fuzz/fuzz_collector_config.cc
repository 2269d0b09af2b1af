// collector.yaml, through the loader check-config and serve share.
#include <cstddef>
#include <cstdint>

#include "collector_config.hh"
#include "config_node.hh"
#include "memory_file.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vantage::fuzz::MemoryFile file;
  try {
    (void)vantage::load_collector_config(file.hold(data, size));
  } catch (const vantage::ConfigError&) {
    // The one way a bad collector.yaml may end: a message naming file, line and key.
  }
  return 0;
}
