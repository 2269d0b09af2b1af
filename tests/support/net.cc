#include "support/net.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace vantage::testing {
namespace {

using Clock = std::chrono::steady_clock;

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0)
      close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::vector<uint8_t> encode_query(uint16_t id, std::string_view qname, uint16_t qtype,
                                  bool recursion_desired) {
  const auto id_high = static_cast<uint8_t>(id >> 8);
  const auto id_low = static_cast<uint8_t>(id & 0xff);
  const uint8_t flags = recursion_desired ? 0x01 : 0x00;
  // Header: ID, flags (only RD), QDCOUNT 1, ANCOUNT, NSCOUNT and ARCOUNT 0.
  std::vector<uint8_t> packet = {id_high, id_low, flags, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  std::string name(qname);
  if (!name.empty() && name.back() == '.')
    name.pop_back();
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos)
      dot = name.size();
    size_t length = dot - start;
    if (length == 0 || length > 63)
      throw std::invalid_argument("bad DNS name " + name);
    packet.push_back(static_cast<uint8_t>(length));
    packet.insert(packet.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
                  name.begin() + static_cast<std::ptrdiff_t>(dot));
    start = dot + 1;
  }
  packet.push_back(0);
  packet.push_back(static_cast<uint8_t>(qtype >> 8));
  packet.push_back(static_cast<uint8_t>(qtype & 0xff));
  packet.push_back(0);
  packet.push_back(1);  // class IN
  return packet;
}

}  // namespace

SocketAddress socket_address(std::string_view ip, uint16_t port) {
  SocketAddress address;
  std::string text(ip);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.length = sizeof(sockaddr_in6);
  } else {
    throw std::invalid_argument("not an IP literal: " + text);
  }
  return address;
}

std::optional<DnsReply> query_dns(std::string_view ip, uint16_t port, std::string_view qname,
                                  uint16_t qtype, bool recursion_desired,
                                  std::chrono::milliseconds timeout) {
  SocketAddress address = socket_address(ip, port);
  Socket socket(::socket(address.family(), SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (socket.fd() < 0)
    return std::nullopt;
  // Connected, so an ICMP port unreachable (nothing bound yet) ends the wait early.
  if (connect(socket.fd(), address.get(), address.length) < 0)
    return std::nullopt;
  static std::mt19937 random{std::random_device{}()};
  const auto id = static_cast<uint16_t>(random());
  std::vector<uint8_t> query = encode_query(id, qname, qtype, recursion_desired);
  if (send(socket.fd(), query.data(), query.size(), 0) < 0)
    return std::nullopt;

  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    pollfd pfd{socket.fd(), POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return std::nullopt;
    uint8_t reply[4096];
    ssize_t got = recv(socket.fd(), reply, sizeof(reply), 0);
    if (got < 0)
      return std::nullopt;  // ECONNREFUSED: nothing listens there (yet)
    if (got < 12)
      continue;
    const uint16_t reply_id = static_cast<uint16_t>((reply[0] << 8) | reply[1]);
    const bool is_response = (reply[2] & 0x80) != 0;
    if (reply_id != id || !is_response)
      continue;  // a stray or late datagram
    DnsReply result;
    result.rcode = reply[3] & 0x0f;
    result.authoritative = (reply[2] & 0x04) != 0;
    result.answer_count = (reply[6] << 8) | reply[7];
    return result;
  }
}

bool tcp_accepts(std::string_view ip, uint16_t port, std::chrono::milliseconds timeout) {
  SocketAddress address = socket_address(ip, port);
  Socket socket(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (socket.fd() < 0)
    return false;
  if (connect(socket.fd(), address.get(), address.length) == 0)
    return true;
  if (errno != EINPROGRESS)
    return false;
  pollfd pfd{socket.fd(), POLLOUT, 0};
  if (poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0)
    return false;
  int error = 0;
  socklen_t length = sizeof(error);
  if (getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &length) < 0)
    return false;
  return error == 0;
}

bool wait_until(const std::function<bool()>& ready, WaitBudget budget) {
  const auto deadline = Clock::now() + budget.limit;
  for (int attempt = 0; attempt < budget.attempts; ++attempt) {
    if (ready())
      return true;
    if (Clock::now() + budget.interval >= deadline)
      break;
    std::this_thread::sleep_for(budget.interval);
  }
  return false;
}

uint16_t free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace vantage::testing
