#pragma once

#include <CLI/CLI.hpp>
#include <optional>

namespace vantage {

// Parses argv for both daemons' command lines with the exit codes docs/cli.md and docs/probe.md
// document: --help and --version print and end with 0, any other parse error prints and ends with
// 2 (a usage error), whatever CLI11's own code for it. nullopt: parsed, go on. Header-only: only
// the executables link CLI11.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CallForHelp, CallForAllHelp and CallForVersion are ParseErrors whose exit() is 0.
    return app.exit(error) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

}  // namespace vantage
