#include <catch2/catch.hpp>

#include "printable.hh"

using vantage::printable;

TEST_CASE("printable keeps ordinary text and UTF-8 as it is", "[printable]") {
  CHECK(printable("GET /v1/status?domain=social.example") ==
        "GET /v1/status?domain=social.example");
  CHECK(printable("Zürich — 東京") == "Zürich — 東京");
}

TEST_CASE("printable escapes a newline, so a request path cannot forge a log line", "[printable]") {
  CHECK(printable("/x\noperator alice removed target social.example") ==
        "/x\\x0aoperator alice removed target social.example");
  CHECK(printable("a\r\tb") == "a\\x0d\\x09b");
}

TEST_CASE("printable escapes terminal escape sequences, so a version cannot rewrite a row",
          "[printable]") {
  CHECK(printable("1.0\x1b[2K\rforged") == "1.0\\x1b[2K\\x0dforged");
  // U+009B, the one-byte CSI, encoded in UTF-8.
  CHECK(printable("a\xc2\x9b"
                  "2Kb") == "a\\xc2\\x9b2Kb");
  CHECK(printable("del\x7f") == "del\\x7f");
}

TEST_CASE("printable escapes bytes that are not UTF-8 and doubles backslashes", "[printable]") {
  CHECK(printable("\xff\xfe") == "\\xff\\xfe");
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");           // overlong "/"
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(printable("\xe6\x9d") == "\\xe6\\x9d");           // cut short
  CHECK(printable("\\x0a") == "\\\\x0a");                 // an escape cannot be forged either
}
