#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace vantage {

// Parses "250ms", "5s", "2m", "1h" (one number and one unit). nullopt for anything else,
// including a missing unit: "5" is ambiguous and config mistakes should be loud.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// A retention period: "90d", "36h", "30m" (days, hours or minutes), up to 3650 days. nullopt for
// anything else.
std::optional<std::chrono::milliseconds> parse_period(std::string_view text);
// The shortest of those forms that says `period` exactly ("30d", "36h", "90m").
std::string format_period(std::chrono::milliseconds period);

std::string format_duration(std::chrono::microseconds duration);  // "12.3 ms", "1.20 s"

}  // namespace vantage
