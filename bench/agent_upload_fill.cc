// vantage-agent-upload-fill: the spool side of bench/agent_upload. Fills an agent's state
// directory with N results through the agent's own Spool (and gives it an epoch as the agent
// would), each the sample cycle document of one of 64 domains, dated a few minutes ago so that
// the collector accepts them. Prints one line: results=N bytes=B (the spooled document bytes)
// text_per_result=T gzip_per_result=G: the request body bytes per result of a batch of the
// first (up to) 500 spooled results, as text (what the agent sent before it gzipped; the same
// bytes as its parse-and-dump envelope) and gzipped as the agent sends it now.
//
//   vantage-agent-upload-fill --state-dir DIR --results 20000

#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "agent_identity.hh"
#include "result_json.hh"
#include "sample_cycle.hh"
#include "spool.hh"
#include "upload_body.hh"

namespace {

constexpr int kDomains = 64;

std::vector<std::string> documents() {
  const auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::vector<std::string> out;
  for (int i = 0; i < kDomains; ++i) {
    const auto started = now - std::chrono::milliseconds(1000 * (i + 1) + 37 * i);
    out.push_back(vantage::to_json(vantage::bench::healthy_cycle(
                                       fmt::format("site-{:03}.example", i), started, i))
                      .dump());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("fills an agent's spool with sample results for bench/agent_upload");
  std::string state_dir;
  uint64_t results = 20000;
  app.add_option("--state-dir", state_dir, "the agent's state_dir")->required();
  app.add_option("--results", results, "how many results to spool");
  CLI11_PARSE(app, argc, argv);
  try {
    vantage::load_agent_identity(state_dir);
    vantage::Spool spool(std::filesystem::path(state_dir) / "spool", uint64_t{1} << 40);
    const auto texts = documents();
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < results; ++i) {
      const std::string& text = texts[i % texts.size()];
      spool.append(text);
      bytes += text.size();
    }
    const auto batch = spool.oldest(500, size_t{4} << 20);
    const std::string text = vantage::upload_body("bench-agent", 1, batch);
    const double count = static_cast<double>(batch.size());
    fmt::print("results={} bytes={} text_per_result={:.0f} gzip_per_result={:.0f}\n", results,
               bytes, static_cast<double>(text.size()) / count,
               static_cast<double>(vantage::gzip_fast(text).size()) / count);
    return 0;
  } catch (const std::exception& error) {
    fmt::print(stderr, "vantage-agent-upload-fill: {}\n", error.what());
    return 1;
  }
}
