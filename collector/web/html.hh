#pragma once

#include <chrono>
#include <string>
#include <string_view>

// The one way text reaches a page: every value from an agent, an operator or a config (domain
// names, titles, evidence) goes through html_escape, so none of it can become markup.
namespace vantage {

// `text` with & < > " ' replaced by entities: safe as HTML text, inside a double- or single-quoted
// attribute, and in SVG (XML) alike.
std::string html_escape(std::string_view text);

// `time` in UTC as strftime's `format` writes it ("%Y-%m-%d %H:%M UTC"): how pages show times.
std::string utc_text(std::chrono::system_clock::time_point time, const char* format);

// A ratio as pages show it: "99.95%", "100%", "0%". Rounded down to hundredths of a percent, so
// that one failed cycle never reads 100 %, and enough digits to tell 99.99 % from 100 %.
std::string format_percent(double ratio);

}  // namespace vantage
