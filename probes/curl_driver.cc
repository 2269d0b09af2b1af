#include "curl_driver.hh"

#include <memory>
#include <stdexcept>

namespace vantage {

namespace {

// Where a transfer's completion lives while curl owns the transfer (CURLOPT_PRIVATE).
struct Pending {
  CurlMulti::Completion on_done;
};

}  // namespace

CurlMulti::CurlMulti(EventLoop& loop) : loop_(loop) {
  multi_ = curl_multi_init();
  if (multi_ == nullptr) {
    throw std::runtime_error("curl_multi_init failed");
  }
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlMulti::~CurlMulti() {
  if (timer_ != 0) {
    loop_.cancel_timer(timer_);
  }
  curl_multi_cleanup(multi_);
}

void CurlMulti::add(CURL* easy, Completion on_done) {
  curl_easy_setopt(easy, CURLOPT_PRIVATE, new Pending{std::move(on_done)});
  if (const CURLMcode rc = curl_multi_add_handle(multi_, easy); rc != CURLM_OK) {
    char* data = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &data);
    std::unique_ptr<Pending> pending(reinterpret_cast<Pending*>(data));
    loop_.post([on_done = std::move(pending->on_done)] { on_done(CURLE_FAILED_INIT); });
  }
}

// CURLMOPT_SOCKETFUNCTION
int CurlMulti::on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* data,
                         void* /*socket_data*/) {
  auto* self = static_cast<CurlMulti*>(data);
  if (what == CURL_POLL_REMOVE) {
    self->loop_.unwatch(fd);
    return 0;
  }
  const uint32_t events =
      ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  self->loop_.watch(fd, events, [self, fd](uint32_t happened) {
    int flags = 0;
    if (happened & EPOLLIN) {
      flags |= CURL_CSELECT_IN;
    }
    if (happened & EPOLLOUT) {
      flags |= CURL_CSELECT_OUT;
    }
    // curl's ephiperfifo example drops these; curl needs them to fail the transfer at once
    // instead of waiting for its own timeout.
    if (happened & (EPOLLERR | EPOLLHUP)) {
      flags |= CURL_CSELECT_ERR;
    }
    self->action(fd, flags);
  });
  return 0;
}

// CURLMOPT_TIMERFUNCTION. Never calls back into curl from here; the loop does that later.
int CurlMulti::on_timer(CURLM* /*multi*/, long timeout_ms, void* data) {
  auto* self = static_cast<CurlMulti*>(data);
  if (self->timer_ != 0) {
    self->loop_.cancel_timer(self->timer_);
    self->timer_ = 0;
  }
  if (timeout_ms < 0) {
    return 0;
  }
  // Zero means "act now": the loop arms its timerfd 1 ns ahead, so curl runs on the next turn.
  self->timer_ = self->loop_.add_timer(std::chrono::milliseconds(timeout_ms), [self] {
    self->timer_ = 0;
    self->action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void CurlMulti::action(curl_socket_t fd, int flags) {
  int still_running = 0;
  curl_multi_socket_action(multi_, fd, flags, &still_running);
  collect_finished();
}

void CurlMulti::collect_finished() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
    if (message->msg != CURLMSG_DONE) {
      continue;
    }
    CURL* easy = message->easy_handle;
    const CURLcode code = message->data.result;
    char* data = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &data);
    std::unique_ptr<Pending> pending(reinterpret_cast<Pending*>(data));
    curl_multi_remove_handle(multi_, easy);
    pending->on_done(code);
  }
}

}  // namespace vantage
