#include "uploader.hh"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "printable.hh"
#include "upload_body.hh"

namespace vantage {
namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxBatchResults = 500;
// Of spooled documents per batch. The collector refuses a body past its limits.max_body_bytes
// (8 MiB by default, inflated or not); the envelope adds under 40 bytes per result to this, so a
// batch stays well below that default, and a collector configured lower answers 413, which halves
// the batch.
constexpr size_t kMaxBatchBytes = 4 << 20;
constexpr milliseconds kBackoffBase{1000};
constexpr milliseconds kBackoffMax{60'000};

bool refused_for_good(const HttpReply& reply) {
  return reply.curl_code == 0 &&
         (reply.status == 400 || reply.status == 409 || reply.status == 413 || reply.status == 422);
}

}  // namespace

Uploader::Uploader(EventLoop& loop, Spool& spool, CollectorClient& client, std::string agent,
                   uint64_t epoch)
    : loop_(loop),
      spool_(spool),
      client_(client),
      agent_(std::move(agent)),
      epoch_(epoch),
      random_(std::random_device{}()),
      batch_size_(kMaxBatchResults) {}

void Uploader::upload() {
  if (uploading_ || backoff_timer_ != 0 || spool_.depth() == 0) {
    return;
  }
  const auto entries = spool_.oldest(batch_size_, kMaxBatchBytes);
  uploading_ = true;
  const uint64_t first_seq = entries.front().seq;
  const uint64_t last_seq = entries.back().seq;
  const size_t count = entries.size();
  client_.request(
      "POST", "/api/v1/results", gzip_fast(upload_body(agent_, epoch_, entries)), "",
      [this, first_seq, last_seq, count](const HttpReply& reply) {
        uploading_ = false;
        on_reply(first_seq, last_seq, count, reply);
      },
      BodyEncoding::Gzip);
}

void Uploader::retry_now() {
  if (backoff_timer_ != 0) {
    loop_.cancel_timer(backoff_timer_);
    backoff_timer_ = 0;
  }
  upload();
}

void Uploader::on_reply(uint64_t first_seq, uint64_t last_seq, size_t count,
                        const HttpReply& reply) {
  if (reply.curl_code == 0 && reply.status == 200) {
    spool_.acknowledge(last_seq);
    if (failures_ > 0) {
      spdlog::info("collector back after {} failed attempts; spool {} results", failures_,
                   spool_.depth());
    }
    failures_ = 0;
    token_refused_ = false;
    batch_size_ = std::min(kMaxBatchResults, batch_size_ * 2);
    loop_.post([this] { upload(); });
    return;
  }
  if (reply.curl_code == 0 && reply.status == 413 && count > 1) {
    batch_size_ = std::max<size_t>(1, count / 2);
    loop_.post([this] { upload(); });
    return;
  }
  // 400 (a spooled file that is no longer a JSON document), 409 (the collector holds another
  // cycle under that epoch and seq: another agent uses this token, or this state directory was
  // copied), 413 for a single result, 422: retrying cannot help, and the collector stored nothing
  // of the batch. Set the one result aside and deliver the rest.
  if (refused_for_good(reply)) {
    if (count > 1) {
      batch_size_ = 1;  // find the result the collector refuses, pass the others
      loop_.post([this] { upload(); });
      return;
    }
    spdlog::error("collector rejects result seq {} for good (HTTP {}: {}): moved to {}", first_seq,
                  reply.status, printable(reply.body), (spool_.dir() / "rejected").string());
    spool_.quarantine(first_seq);
    loop_.post([this] { upload(); });
    return;
  }
  back_off(reply);
}

void Uploader::back_off(const HttpReply& reply) {
  ++failures_;
  const auto ceiling = std::min<int64_t>(
      kBackoffMax.count(), kBackoffBase.count() << std::min<uint32_t>(failures_ - 1, 16));
  // Full jitter: agents that lost the collector together must not all return together.
  std::uniform_int_distribution<int64_t> pick(ceiling / 2, ceiling);
  const milliseconds delay(pick(random_));
  if (reply.curl_code != 0) {
    spdlog::warn("collector unreachable ({}); {} results spooled; retry in {} ms",
                 transfer_failure(reply), spool_.depth(), delay.count());
  } else if (reply.status == 401) {
    // Retrying every minute for days must not fill the journal: the first refusal says what to
    // do, the rest only show at debug level.
    spdlog::log(token_refused_ ? spdlog::level::debug : spdlog::level::err,
                "collector refuses this agent's token ({} {}); {} results kept in the spool and "
                "retried every minute or so: give the agent a valid token (vantage-collector "
                "token rotate NAME, or token create after a revoke), then reload or restart it",
                reply.status, printable(reply.body), spool_.depth());
    token_refused_ = true;
  } else {
    spdlog::warn("collector answered {} {}; {} results spooled; retry in {} ms", reply.status,
                 printable(reply.body), spool_.depth(), delay.count());
  }
  backoff_timer_ = loop_.add_timer(delay, [this] {
    backoff_timer_ = 0;
    upload();
  });
}

}  // namespace vantage
