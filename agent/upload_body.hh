#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spool.hh"

namespace vantage {

// The upload envelope (POST /api/v1/results) has a version of its own: each cycle inside it
// carries its own schema_version, so a new cycle field never breaks an older collector's batch.
inline constexpr int kUploadSchemaVersion = 1;

// The result batch as the collector reads it,
//   {"agent":…,"epoch":…,"results":[{"cycle":<spooled bytes>,"seq":N},…],"schema_version":1}
// assembled as text around the spooled documents, which go in as they are on disk: the agent
// wrote them itself, and parsing them again only to write them out again was most of its upload
// CPU. An entry that is not a JSON document (a corrupted file) makes the whole batch one the
// collector refuses (400), which the uploader then narrows down to that entry.
std::string upload_body(std::string_view agent, uint64_t epoch,
                        const std::vector<Spool::Entry>& entries);

// `text` compressed as Content-Encoding: gzip means (a gzip wrapper), at zlib's fastest level:
// the cycle documents are repetitive enough that level 1 already shrinks them several times, for
// a fraction of the CPU of the default level.
std::string gzip_fast(std::string_view text);

}  // namespace vantage
