#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace vantage {

struct CompiledBodyPattern;

// A target's body_regex, compiled once. RE2 syntax: matching takes time linear in the body and
// memory bounded by a fixed budget, whatever the pattern and whatever the probed server sends, so
// a hostile page can neither crash nor stall the agent (a backtracking engine can do both).
// Copies share one compiled program; RE2 allows a const program to be used from any thread.
class BodyPattern {
 public:
  BodyPattern() = default;  // no content check

  // Compiles `text`; an empty text is the empty pattern.
  static CompiledBodyPattern compile(std::string_view text);

  bool empty() const { return regex_ == nullptr; }
  const std::string& text() const { return text_; }
  // Whether some part of `body` matches; true for the empty pattern.
  bool found_in(std::string_view body) const;

  bool operator==(const BodyPattern& other) const { return text_ == other.text_; }

 private:
  std::string text_;
  std::shared_ptr<const re2::RE2> regex_;
};

struct CompiledBodyPattern {
  BodyPattern pattern;
  std::string error;  // why the text is not a usable pattern; empty when it is
};

}  // namespace vantage
