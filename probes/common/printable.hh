#pragma once

#include <string>
#include <string_view>

namespace vantage {

// Text that came from outside (a request path, an agent's version, a server's error message) as
// it may safely go into a log line or a terminal table: printable ASCII and valid UTF-8 pass
// through, a backslash is doubled, and every other byte (control characters, escape sequences,
// DEL, bytes that are not UTF-8, and the C1 controls U+0080..U+009F) becomes \xNN. So a newline
// cannot forge a log line and an escape sequence cannot rewrite a row on the operator's screen.
std::string printable(std::string_view text);

}  // namespace vantage
