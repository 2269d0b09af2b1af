#include "client_file.hh"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "config_file.hh"
#include "config_node.hh"

namespace vantage {
namespace {

namespace fs = std::filesystem;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

// A path of the client file, relative ones taken from the file's own directory, that must name a
// readable regular file.
std::string file_in(const ConfigNode& node, const fs::path& base) {
  fs::path path = node.as_string();
  if (path.empty()) {
    node.fail("must not be empty");
  }
  if (path.is_relative()) {
    path = base / path;
  }
  try {
    check_config_file(path.string(), kMaxConfigFileBytes);
  } catch (const FileError& error) {
    node.fail(fmt::format("cannot read \"{}\": {}", path.string(), error.what()));
  }
  return path.string();
}

struct ClientFile {
  std::string url;
  std::string ca_file;
  std::string token_file;
};

std::optional<ClientFile> load_client_file() {
  const auto path = client_file_path();
  std::error_code ignored;
  if (!path || (environment("VANTAGE_CLIENT_CONFIG").empty() && !fs::exists(*path, ignored))) {
    return std::nullopt;  // no file at the default place; one named by the variable must exist
  }
  const ConfigNode root = ConfigNode::load(*path);
  root.allow_only({"url", "ca_file", "token_file"});
  const fs::path base = fs::path(*path).parent_path();
  ClientFile file;
  if (auto url = root.optional_child("url")) {
    file.url = url->as_string();
    if (file.url.rfind("http://", 0) != 0 && file.url.rfind("https://", 0) != 0) {
      url->fail(fmt::format("\"{}\" must start with http:// or https://", file.url));
    }
  }
  if (auto ca = root.optional_child("ca_file")) {
    file.ca_file = file_in(*ca, base);
  }
  if (auto token = root.optional_child("token_file")) {
    file.token_file = file_in(*token, base);
  }
  return file;
}

}  // namespace

std::optional<std::string> client_file_path() {
  if (std::string named = environment("VANTAGE_CLIENT_CONFIG"); !named.empty()) {
    return named;
  }
  if (std::string config = environment("XDG_CONFIG_HOME"); !config.empty()) {
    return (fs::path(config) / "vantage" / "client.yaml").string();
  }
  if (std::string home = environment("HOME"); !home.empty()) {
    return (fs::path(home) / ".config" / "vantage" / "client.yaml").string();
  }
  return std::nullopt;
}

ClientOptions resolve_client_options(const ClientOptions& given) {
  ClientOptions options = given;
  const auto file = load_client_file();
  const auto first = [](std::initializer_list<std::string> candidates) {
    for (const auto& candidate : candidates) {
      if (!candidate.empty()) {
        return candidate;
      }
    }
    return std::string();
  };
  options.url = first({given.url, environment("VANTAGE_URL"), file ? file->url : "",
                       std::string(kDefaultCollectorUrl)});
  options.ca_file = first({given.ca_file, environment("VANTAGE_CA"), file ? file->ca_file : ""});
  // read_client_token reads VANTAGE_TOKEN when no file is named: the file only fills in where
  // neither the flag nor the variable gives a token.
  options.token_file = first(
      {given.token_file, environment("VANTAGE_TOKEN").empty() && file ? file->token_file : ""});
  return options;
}

}  // namespace vantage
