// agent.yaml, through the loader an operator's typo (or a truncated deploy) reaches.
#include <cstddef>
#include <cstdint>

#include "agent_config.hh"
#include "config_node.hh"
#include "memory_file.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vantage::fuzz::MemoryFile file;
  try {
    (void)vantage::load_agent_config(file.hold(data, size));
  } catch (const vantage::ConfigError&) {
    // The one way a bad agent.yaml may end: a message naming file, line and key.
  }
  return 0;
}
