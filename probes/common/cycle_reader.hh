#pragma once

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "cycle_result.hh"

// The one reader of the cycle document (docs/api.md, "The cycle document"), on simdjson's
// on-demand parser: the collector reads each upload once, straight into the typed cycle. Only the
// collector reads cycles; the agent writes them (result_json.hh) and so does not link simdjson.
namespace vantage {

// Deeper JSON than any document of ours is refused: the walk over members it does not know
// recurses.
inline constexpr int kMaxJsonDepth = 32;

// Text that is not JSON, or nests deeper than kMaxJsonDepth: the sender's bytes are wrong, not its
// fields (those are std::invalid_argument, naming the field).
class MalformedJson : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace json_walk {

using simdjson::ondemand::object;
using simdjson::ondemand::value;

// Throws MalformedJson for a simdjson error that means the text is not JSON.
void check(simdjson::error_code error);
// After the root value: anything but the end is MalformedJson.
void check_end(simdjson::ondemand::document& document);
// INCORRECT_TYPE: the text is JSON, but `name` has another type; anything else is MalformedJson.
void check_field(simdjson::error_code error, std::string_view name);

std::string string_of(value item, std::string_view name);
bool bool_of(value item, std::string_view name);
// Any JSON integer, or nullopt for another type (floats too: "443.0" is not a port).
std::optional<int64_t> integer_of(value item);
// An object, or std::invalid_argument "`what` must be an object".
object object_of(value item, std::string_view what);
// A member it does not read, checked to be JSON (and no deeper than kMaxJsonDepth, counting
// `depth` containers around it) and passed over. Every value of an accepted document is read or
// checked: nothing that is not JSON is ever accepted, or stored.
void skip(value item, int depth);

// Calls on_member(key, value) for each member in document order; a member it returns false for
// is skipped (checked).
template <typename OnMember>
void members(object& container, int depth, OnMember&& on_member) {
  if (depth > kMaxJsonDepth) {
    throw MalformedJson("malformed JSON: nested deeper than " + std::to_string(kMaxJsonDepth) +
                        " levels");
  }
  for (auto member : container) {
    simdjson::ondemand::field field;
    check(std::move(member).get(field));
    std::string_view key;
    check(field.unescaped_key().get(key));
    if (!on_member(key, field.value())) {
      skip(field.value(), depth);
    }
  }
}

template <typename OnElement>
void elements(value list, std::string_view name, int depth, OnElement&& on_element) {
  if (depth + 1 > kMaxJsonDepth) {
    throw MalformedJson("malformed JSON: nested deeper than " + std::to_string(kMaxJsonDepth) +
                        " levels");
  }
  simdjson::ondemand::array array;
  check_field(list.get_array().get(array), name);
  for (auto element : array) {
    value item;
    // simdjson_result::get is &&-qualified: the move is what lets us call it.
    check(std::move(element).get(item));  // NOLINT(performance-move-const-arg)
    on_element(item);
  }
}

}  // namespace json_walk

// The cycle in `object` (`depth` containers deep, itself included), every member read or checked.
// Throws std::invalid_argument naming the field for JSON that is not a cycle of a schema version
// this build reads, MalformedJson for text that is not JSON.
CycleResult cycle_from_json(simdjson::ondemand::object& object, int depth);
// One whole cycle document in text, as stored.
CycleResult cycle_from_json(std::string_view text);

}  // namespace vantage
