#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <utility>

#include "body_pattern.hh"

using namespace vantage;

namespace {

// One line of 300 KB: what a hostile or broken page serves to a content check. A backtracking
// engine recurses once per character on it and overflows the agent's stack.
const std::string kLongLine(300 * 1024, 'x');

std::string error_of(const std::string& text) {
  return BodyPattern::compile(text).error;
}

}  // namespace

TEST_CASE("a body_regex RE2 cannot compile is refused with RE2's reason", "[body_pattern]") {
  CHECK(error_of("(unclosed") == "missing ): (unclosed");
  // ECMAScript lookaround and backreferences need backtracking: RE2 has neither.
  CHECK(error_of("(?=welcome)") == "invalid perl operator: (?=");
  CHECK(error_of("(?<!not )welcome") == "invalid perl operator: (?<");
  CHECK(error_of(R"((a)\1)") == R"(invalid escape sequence: \1)");
  CHECK(error_of("x{1001}") == "invalid repetition size: {1001}");
  // A program larger than the memory budget is refused here, not while a probe runs.
  CHECK(error_of(R"(\pL{1000})") == "pattern too large - compile failed");
}

TEST_CASE("a valid body_regex matches anywhere in the body; the empty one matches everything",
          "[body_pattern]") {
  const auto compiled = BodyPattern::compile("welcome|bienvenue");
  REQUIRE(compiled.error.empty());
  CHECK(compiled.pattern.text() == "welcome|bienvenue");
  CHECK(compiled.pattern.found_in("<h1>bienvenue</h1>"));
  CHECK_FALSE(compiled.pattern.found_in("<h1>maintenance</h1>"));

  const auto empty = BodyPattern::compile("");
  CHECK(empty.error.empty());
  CHECK(empty.pattern.empty());
  CHECK(empty.pattern.found_in("anything"));
}

TEST_CASE("pathological patterns over a 300 KB line answer at once instead of crashing",
          "[body_pattern]") {
  const std::pair<const char*, const char*> cases[] = {
      {"^.*welcome", "welcome"}, {"(x|xx)+y", "y"}, {"(x+x+)+y", "y"}, {"(x|x)*z", "z"}};
  for (const auto& [text, ending] : cases) {
    CAPTURE(text);
    const auto compiled = BodyPattern::compile(text);
    REQUIRE(compiled.error.empty());
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(compiled.pattern.found_in(kLongLine));
    CHECK(compiled.pattern.found_in(kLongLine + ending));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  }
}
