#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli.hh"
#include "cli_client.hh"

// What the client commands share: reaching the collector, and printing its answers for humans.
namespace vantage {

using Table = std::vector<std::vector<std::string>>;

// Columns padded to their widest cell, two spaces apart, no trailing blanks.
void print_table(std::ostream& out, const std::vector<std::string>& header, const Table& rows);

// For one path segment of a URL.
std::string percent_encode(const std::string& text);

ApiClient client_for(const ClientOptions& options);
// The reply's JSON, or nullopt after printing to stderr why the request failed.
std::optional<nlohmann::json> expect(const ApiClient& client, const ApiReply& reply, long wanted);

// What a reading command got: the document to print for humans, or (empty) the exit code of a
// request that failed (already said on stderr) or whose answer --json printed as it is.
struct Fetched {
  int exit_code = 0;
  std::optional<nlohmann::json> document;
};
Fetched fetch_for_humans(const ClientOptions& options, const std::string& path, std::ostream& out);

// "42s ago", "3m ago", "5h ago", "2d ago"; "?" for a time that does not parse, "-" for null.
std::string age_of(const nlohmann::json& rfc3339);
// A JSON value as a table cell: strings bare, null as "-"; escaped with printable(), so that it
// is one line of plain text whatever the collector was sent.
std::string text_of(const nlohmann::json& value);

}  // namespace vantage
