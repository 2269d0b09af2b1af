#include "body_pattern.hh"

#include <re2/re2.h>

namespace vantage {
namespace {

// RE2 splits this between the compiled program and its DFA cache. A pattern whose program does
// not fit is refused when it is compiled; a DFA that fills its share while matching falls back
// to RE2's NFA, which is still linear in the body and needs no more memory. RE2's own default,
// explicit here because it is part of what a hostile body can make the agent spend.
constexpr int64_t kMaxMemory = 8 << 20;

}  // namespace

CompiledBodyPattern BodyPattern::compile(std::string_view text) {
  CompiledBodyPattern compiled;
  if (text.empty()) {
    return compiled;
  }
  RE2::Options options;
  options.set_log_errors(false);  // the caller reports the error where the pattern came from
  options.set_max_mem(kMaxMemory);
  auto regex = std::make_shared<const RE2>(re2::StringPiece(text.data(), text.size()), options);
  if (!regex->ok()) {
    compiled.error = regex->error();
    return compiled;
  }
  // RE2 compiles the reverse program, which a search for a pattern ending in $ needs, only at
  // its first use; compiling it now refuses a pattern too large for it here, not mid-probe.
  if (regex->ReverseProgramSize() < 0) {
    compiled.error = "pattern too large - reverse compile failed";
    return compiled;
  }
  compiled.pattern.text_ = std::string(text);
  compiled.pattern.regex_ = std::move(regex);
  return compiled;
}

bool BodyPattern::found_in(std::string_view body) const {
  return regex_ == nullptr ||
         RE2::PartialMatch(re2::StringPiece(body.data(), body.size()), *regex_);
}

}  // namespace vantage
