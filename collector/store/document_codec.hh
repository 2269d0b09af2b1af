#pragma once

#include <string>
#include <string_view>

// How a cycle document is kept on disk: a zstd frame of the bytes the agent sent. A healthy
// cycle's 4 KB of JSON becomes about 1 KB; reading it back gives the same bytes.
namespace vantage::document_codec {

// A zstd frame of `document`, carrying its size.
std::string compress(std::string_view document);

// The bytes compress() was given. Throws StorageError naming `backend` for anything that is not
// one such frame, or whose content would exceed kMaxDocumentBytes.
std::string decompress(std::string_view frame, std::string_view backend);

// No stored document is larger: it came in an upload body, and limits.max_body_bytes is at most
// this.
inline constexpr size_t kMaxDocumentBytes = size_t{1} << 30;

}  // namespace vantage::document_codec
