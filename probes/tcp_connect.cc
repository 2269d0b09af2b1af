#include "tcp_connect.hh"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "classify.hh"
#include "event_loop.hh"

namespace vantage {
namespace {

class TcpConnect {
 public:
  TcpConnect(EventLoop& loop, const Endpoint& target, Check check, ProbeDone done)
      : loop_(loop), target_(target), done_(std::move(done)) {
    result_.check = check;
    result_.target = target.to_string();
    result_.subject = fmt::format("tcp connect {}", result_.target);
    result_.phase = Phase::Connect;
  }

  static void start(std::unique_ptr<TcpConnect> self, std::chrono::milliseconds timeout) {
    TcpConnect* probe = self.release();  // owned by its loop callbacks until finish()
    probe->started_ = std::chrono::steady_clock::now();
    probe->fd_ = socket(probe->target_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe->fd_ < 0) {
      probe->fail_errno(errno);
      probe->finish();
      return;
    }
    const int rc = connect(probe->fd_, reinterpret_cast<const sockaddr*>(&probe->target_.addr),
                           probe->target_.len);
    if (rc == 0) {
      probe->finish();
      return;
    }
    if (errno != EINPROGRESS) {
      // A missing route fails here at once with ENETUNREACH: no packet ever left.
      probe->fail_errno(errno);
      probe->finish();
      return;
    }
    probe->loop_.watch(probe->fd_, EPOLLOUT, [probe](uint32_t) { probe->on_writable(); });
    probe->timer_ = probe->loop_.add_timer(timeout, [probe] {
      probe->timer_ = 0;
      probe->result_.failure = Failure::Timeout;
      probe->result_.native_code = ETIMEDOUT;
      probe->result_.native_kind = NativeKind::Errno;
      probe->result_.detail = "no answer to SYN before the timeout";
      probe->finish();
    });
  }

 private:
  void on_writable() {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) < 0) {
      error = errno;
    }
    if (error != 0) {
      fail_errno(error);
    }
    finish();
  }

  void fail_errno(int error) {
    result_.failure = classify_errno(error);
    result_.native_code = error;
    result_.native_kind = NativeKind::Errno;
    result_.detail = std::strerror(error);
  }

  void finish() {
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started_);
    if (result_.ok()) {
      result_.timings.connect = elapsed;
    }
    result_.timings.total = elapsed;
    if (timer_ != 0) {
      loop_.cancel_timer(timer_);
    }
    if (fd_ >= 0) {
      loop_.unwatch(fd_);
      close(fd_);
    }
    // Reported from the loop, never from inside start(): callers may start the next probe from
    // `done`, and must not be re-entered.
    loop_.post([this] {
      std::unique_ptr<TcpConnect> owned(this);
      done_(std::move(result_));
    });
  }

  EventLoop& loop_;
  Endpoint target_;
  ProbeDone done_;
  ProbeResult result_;
  int fd_ = -1;
  EventLoop::TimerId timer_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

void probe_tcp_connect(EventLoop& loop, const Endpoint& target, Check check,
                       std::chrono::milliseconds timeout, ProbeDone done) {
  TcpConnect::start(std::make_unique<TcpConnect>(loop, target, check, std::move(done)), timeout);
}

}  // namespace vantage
