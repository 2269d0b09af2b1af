#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <ostream>
#include <stdexcept>
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

// The reply of a GET as JSON, or nullopt (the exit code in `exit_code`) when the request failed
// (said on stderr) or --json printed the answer as it is.
std::optional<nlohmann::json> fetch_json(const ClientOptions& options, const std::string& path,
                                         std::ostream& out, int& exit_code);
// Says on stderr that the collector's answer cannot be read, and why.
void report_unreadable(const std::string& url, const std::string& why);
// A document of api_model.hh read from a reply, or nullopt after saying on stderr why the
// collector's answer cannot be read.
template <typename Document>
std::optional<Document> read_reply(const std::string& url, const nlohmann::json& body,
                                   Document (*read)(const nlohmann::json&)) {
  try {
    return read(body);
  } catch (const std::invalid_argument& error) {
    report_unreadable(url, error.what());
    return std::nullopt;
  }
}
// What a reading command got: the typed document to print for humans, or (empty) the exit code of
// a request that failed (already said on stderr) or whose answer --json printed as it is.
template <typename Document>
struct Fetched {
  int exit_code = 0;
  std::optional<Document> document;
};
template <typename Document>
Fetched<Document> fetch_for_humans(const ClientOptions& options, const std::string& path,
                                   std::ostream& out, Document (*read)(const nlohmann::json&)) {
  Fetched<Document> fetched;
  const auto body = fetch_json(options, path, out, fetched.exit_code);
  if (body) {
    fetched.document = read_reply(options.url, *body, read);
    fetched.exit_code = fetched.document ? 0 : 1;
  }
  return fetched;
}

// "42s ago", "3m ago", "5h ago", "2d ago"; "-" for none.
std::string age_of(const std::optional<std::chrono::system_clock::time_point>& time);
// An RFC 3339 time, "-" for none.
std::string time_text(const std::optional<std::chrono::system_clock::time_point>& time);
// Text from the collector as a table cell, escaped with printable(), so that it is one line of
// plain text whatever the collector was sent.
std::string text_of(const std::string& text);

}  // namespace vantage
