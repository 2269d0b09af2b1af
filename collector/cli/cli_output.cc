#include "cli_output.hh"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "printable.hh"
#include "result_json.hh"

namespace vantage {

using nlohmann::json;

void print_table(std::ostream& out, const std::vector<std::string>& header, const Table& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i) {
    widths[i] = header[i].size();
    for (const auto& row : rows) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], widths[i]);
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out << line << '\n';
  };
  print_row(header);
  for (const auto& row : rows) {
    print_row(row);
  }
}

std::string percent_encode(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((std::isalnum(byte) != 0) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

ApiClient client_for(const ClientOptions& options) {
  return ApiClient(options.url, read_client_token(options.token_file), options.ca_file);
}

std::optional<json> expect(const ApiClient& client, const ApiReply& reply, long wanted) {
  if (reply.status != wanted) {
    fmt::print(stderr, "vantage-collector: {}\n", printable(describe_failure(client.url(), reply)));
    return std::nullopt;
  }
  auto body = json::parse(reply.body, nullptr, false);
  if (body.is_discarded()) {
    fmt::print(stderr,
               "vantage-collector: collector at {} answered {} with a body that is not "
               "JSON\n",
               client.url(), reply.status);
    return std::nullopt;
  }
  return body;
}

std::optional<json> fetch_json(const ClientOptions& options, const std::string& path,
                               std::ostream& out, int& exit_code) {
  const ApiClient client = client_for(options);
  auto body = expect(client, client.request("GET", path), 200);
  exit_code = body ? 0 : 1;
  if (body && options.json) {
    out << body->dump(2) << '\n';
    return std::nullopt;
  }
  return body;
}

void report_unreadable(const std::string& url, const std::string& why) {
  fmt::print(stderr,
             "vantage-collector: collector at {} answered a document this client cannot "
             "read: {}\n",
             url, printable(why));
}

std::string age_of(const std::optional<std::chrono::system_clock::time_point>& time) {
  if (!time) {
    return "-";
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - *time)
          .count();
  if (seconds < 120) {
    return fmt::format("{}s ago", std::max<int64_t>(seconds, 0));
  }
  if (seconds < 7200) {
    return fmt::format("{}m ago", seconds / 60);
  }
  if (seconds < 172800) {
    return fmt::format("{}h ago", seconds / 3600);
  }
  return fmt::format("{}d ago", seconds / 86400);
}

std::string time_text(const std::optional<std::chrono::system_clock::time_point>& time) {
  return time ? format_time(*time) : "-";
}

std::string text_of(const std::string& text) {
  // Agents, probed servers and alert receivers chose much of this text: escape sequences in it
  // must not rewrite the operator's screen.
  return printable(text);
}

}  // namespace vantage
