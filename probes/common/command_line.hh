#pragma once

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

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

// A daemon's --log-level: trace, debug, info (the default), warn, error or off, also read from
// VANTAGE_LOG_LEVEL when the flag is not given; anything else is a usage error (exit 2).
inline void add_log_level_option(CLI::App* command, std::string& level) {
  command
      ->add_option("--log-level", level,
                   "trace, debug, info, warn, error or off (default: info; also "
                   "VANTAGE_LOG_LEVEL)")
      ->envname("VANTAGE_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

// Sets the level add_log_level_option parsed; "" (neither given) leaves the level as it is.
inline void apply_log_level(const std::string& level) {
  if (!level.empty()) {
    spdlog::set_level(spdlog::level::from_str(level));
  }
}

}  // namespace vantage
