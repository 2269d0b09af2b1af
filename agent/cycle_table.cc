#include "cycle_table.hh"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "duration.hh"

namespace vantage {
namespace {

using Row = std::array<std::string, 5>;

std::string result_cell(const ProbeResult& result) {
  if (result.ok()) {
    return result.detail.empty() ? "ok" : "ok: " + result.detail;
  }
  std::string cell(to_string(result.failure));
  cell += fmt::format(" at {}", to_string(result.phase));
  if (!result.detail.empty()) {
    cell += fmt::format(" ({})", result.detail);
  }
  return cell;
}

}  // namespace

std::string render_cycle_table(const CycleResult& cycle) {
  std::vector<Row> rows = {{"CHECK", "TARGET", "QUESTION", "RESULT", "TIME"}};
  for (const auto& result : cycle.results) {
    const auto total = result.timings.total.value_or(std::chrono::microseconds(0));
    rows.push_back({std::string(to_string(result.check)), result.target, result.subject,
                    result_cell(result), format_duration(total)});
  }
  std::array<size_t, 5> widths{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {:>{}}\n", row[0], widths[0], row[1],
                       widths[1], row[2], widths[2], row[3], widths[3], row[4], widths[4]);
  }
  bool first_path = true;
  for (const auto& result : cycle.results) {
    if (result.check == Check::Path && result.path) {
      out += first_path ? "\npaths to the silent addresses:\n" : "";
      out += fmt::format("  {}: vantage → {}\n", result.target, result.detail);
      first_path = false;
    }
  }
  out += fmt::format("\n{} {} in {}\n", cycle.domain, to_string(cycle.reading.verdict),
                     format_duration(cycle.duration));
  out += fmt::format("  {}\n", cycle.reading.summary);
  if (!cycle.reading.evidence.empty()) {
    out += "evidence:\n";
    for (const auto& line : cycle.reading.evidence) {
      out += fmt::format("  - {}\n", line);
    }
  }
  if (!cycle.reading.warnings.empty()) {
    out += "also failing:\n";
    for (const auto& line : cycle.reading.warnings) {
      out += fmt::format("  - {}\n", line);
    }
  }
  if (!cycle.reading.expiring.empty()) {
    out += "expiring:\n";
    for (const auto& expiry : cycle.reading.expiring) {
      out += fmt::format("  - {}\n", expiry.text);
    }
  }
  return out;
}

}  // namespace vantage
