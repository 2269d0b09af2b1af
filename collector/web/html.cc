#include "html.hh"

#include <fmt/format.h>

#include <ctime>

#include "api_model.hh"

namespace vantage {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string utc_text(std::chrono::system_clock::time_point time, const char* format) {
  const std::time_t whole = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&whole, &parts);
  char text[64] = {};
  std::strftime(text, sizeof text, format, &parts);
  return text;
}

std::string format_percent(double ratio) {
  std::string text = fmt::format("{:.2f}", uptime_percent(ratio));
  while (text.back() == '0') {
    text.pop_back();
  }
  if (text.back() == '.') {
    text.pop_back();
  }
  return text + "%";
}

}  // namespace vantage
