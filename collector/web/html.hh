#pragma once

#include <string>
#include <string_view>

// The one way text reaches a page: every value from an agent, an operator or a config (domain
// names, titles, evidence) goes through html_escape, so none of it can become markup.
namespace vantage {

// `text` with & < > " ' replaced by entities: safe as HTML text, inside a double- or single-quoted
// attribute, and in SVG (XML) alike.
std::string html_escape(std::string_view text);

}  // namespace vantage
