#include "http_receiver.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>
#include <string_view>

#include "support/net.hh"

namespace vantage::testing {
namespace {

constexpr int kReadTimeoutMs = 2000;  // a client that stalls mid-request is dropped
constexpr size_t kMaxRequestBytes = size_t{1} << 20;

// A TCP socket bound to 127.0.0.1 on a port the kernel picks; returns the socket and the port.
std::pair<int, uint16_t> bind_loopback(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error("socket failed");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  socklen_t length = sizeof address;
  // A receiver coming back on its old port must not wait for TIME_WAIT.
  const int reuse = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw std::runtime_error("bind to 127.0.0.1 failed");
  }
  return {fd, ntohs(address.sin_port)};
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Reads until `done(received)` or the peer stalls or closes; false in the latter cases.
bool read_until(int connection, std::string& received,
                const std::function<bool(const std::string&)>& done) {
  char buffer[4096];
  while (!done(received)) {
    pollfd readable{.fd = connection, .events = POLLIN, .revents = 0};
    if (poll(&readable, 1, kReadTimeoutMs) <= 0 || received.size() > kMaxRequestBytes) {
      return false;
    }
    const ssize_t count = recv(connection, buffer, sizeof buffer, 0);
    if (count <= 0) {
      return false;
    }
    received.append(buffer, static_cast<size_t>(count));
  }
  return true;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 500:
      return "Internal Server Error";
    default:
      return "Status";
  }
}

}  // namespace

HttpReceiver::HttpReceiver(StatusFor status_for, uint16_t port)
    : status_for_(std::move(status_for)) {
  std::tie(listener_, port_) = bind_loopback(port);
  if (listen(listener_, 64) != 0 || pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    close(listener_);
    throw std::runtime_error("listen failed");
  }
  thread_ = std::thread([this] { serve(); });
}

HttpReceiver::~HttpReceiver() {
  const char stop = 1;
  if (write(stop_pipe_[1], &stop, 1) != 1) {
    std::abort();  // the thread would never end; better a crash than a hung test
  }
  thread_.join();
  close(listener_);
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
}

std::string HttpReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<ReceivedRequest> HttpReceiver::requests() const {
  const std::lock_guard lock(mutex_);
  return requests_;
}

bool HttpReceiver::wait_for_requests(size_t count, std::chrono::milliseconds limit) {
  return wait_until(
      [&] { return requests().size() >= count; },
      WaitBudget{.attempts = 10000, .interval = std::chrono::milliseconds(10), .limit = limit});
}

void HttpReceiver::serve() {
  while (true) {
    pollfd fds[2] = {{.fd = listener_, .events = POLLIN, .revents = 0},
                     {.fd = stop_pipe_[0], .events = POLLIN, .revents = 0}};
    if (poll(fds, 2, -1) < 0 || fds[1].revents != 0) {
      return;
    }
    const int connection = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection >= 0) {
      handle(connection);
      close(connection);
    }
  }
}

void HttpReceiver::handle(int connection) {
  std::string received;
  const auto has_head = [](const std::string& text) {
    return text.find("\r\n\r\n") != std::string::npos;
  };
  if (!read_until(connection, received, has_head)) {
    return;
  }
  const size_t head_end = received.find("\r\n\r\n");
  ReceivedRequest request;
  const std::string head = received.substr(0, head_end);
  const size_t first_line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, first_line_end);
  const size_t method_end = request_line.find(' ');
  const size_t path_end = request_line.find(' ', method_end + 1);
  request.method = request_line.substr(0, method_end);
  request.path = request_line.substr(method_end + 1, path_end - method_end - 1);
  for (size_t line_start = first_line_end; line_start < head.size();) {
    line_start += 2;
    const size_t line_end = std::min(head.find("\r\n", line_start), head.size());
    const std::string line = head.substr(line_start, line_end - line_start);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      const size_t value_start = line.find_first_not_of(' ', colon + 1);
      request.headers[lower(line.substr(0, colon))] =
          value_start == std::string::npos ? "" : line.substr(value_start);
    }
    line_start = line_end;
  }
  const auto length = request.headers.find("content-length");
  const size_t body_length = length == request.headers.end() ? 0 : std::stoul(length->second);
  const size_t total = head_end + 4 + body_length;
  if (!read_until(connection, received,
                  [total](const std::string& text) { return text.size() >= total; })) {
    return;
  }
  request.body = received.substr(head_end + 4, body_length);

  size_t index = 0;
  {
    const std::lock_guard lock(mutex_);
    index = requests_.size();
    requests_.push_back(request);
  }
  const int status = status_for_(index, request);
  const std::string reply = "HTTP/1.1 " + std::to_string(status) + " " +
                            std::string(reason_phrase(status)) +
                            "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  // A client that went away already is no concern of the test.
  (void)send(connection, reply.data(), reply.size(), MSG_NOSIGNAL);
}

SilentReceiver::SilentReceiver() {
  std::tie(listener_, port_) = bind_loopback(0);
  if (listen(listener_, 64) != 0) {
    close(listener_);
    throw std::runtime_error("listen failed");
  }
}

SilentReceiver::~SilentReceiver() {
  close(listener_);
}

std::string SilentReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

uint16_t unused_port() {
  const auto [fd, port] = bind_loopback(0);
  close(fd);
  return port;
}

}  // namespace vantage::testing
