#include "upload_body.hh"

#include <fmt/format.h>
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace vantage {
namespace {

// Every member of the envelope but the results, which are appended between the two halves.
constexpr std::string_view kResultsOpen = R"(,"results":[)";

// zlib's stream with deflateEnd guaranteed once it was initialised.
class Deflater {
 public:
  Deflater() {
    // 16 + MAX_WBITS: a gzip header and trailer around the deflate stream, not zlib's own.
    if (deflateInit2(&stream_, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      throw std::runtime_error("zlib: deflateInit2 failed");
    }
  }
  ~Deflater() { deflateEnd(&stream_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  z_stream* get() { return &stream_; }

 private:
  z_stream stream_{};
};

}  // namespace

std::string upload_body(std::string_view agent, uint64_t epoch,
                        const std::vector<Spool::Entry>& entries) {
  size_t size = 128 + agent.size();
  for (const auto& entry : entries) {
    size += entry.document.size() + 40;
  }
  std::string body;
  body.reserve(size);
  // nlohmann escapes the name as JSON requires; the members are in the order a dump writes them.
  body += R"({"agent":)";
  body += nlohmann::json(agent).dump();
  body += fmt::format(R"(,"epoch":{})", epoch);
  body += kResultsOpen;
  bool first = true;
  for (const auto& entry : entries) {
    body += first ? R"({"cycle":)" : R"(,{"cycle":)";
    first = false;
    body += entry.document;
    body += fmt::format(R"(,"seq":{}}})", entry.seq);
  }
  body += fmt::format(R"(],"schema_version":{}}})", kUploadSchemaVersion);
  return body;
}

std::string gzip_fast(std::string_view text) {
  Deflater deflater;
  z_stream* stream = deflater.get();
  std::string out(deflateBound(stream, text.size()), '\0');
  // zlib's interface is not const-correct; it never writes through next_in.
  stream->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream->avail_in = static_cast<uInt>(text.size());
  stream->next_out = reinterpret_cast<Bytef*>(out.data());
  stream->avail_out = static_cast<uInt>(out.size());
  // deflateBound's room holds the whole stream, so one call finishes it.
  if (deflate(stream, Z_FINISH) != Z_STREAM_END) {
    throw std::runtime_error("zlib: deflate did not finish");
  }
  out.resize(stream->total_out);
  return out;
}

}  // namespace vantage
