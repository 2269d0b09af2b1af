// Clients that try to lock the agents out, forge log lines or flood the log, against the real
// collector on loopback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "collector_fixture.hh"
#include "support/net.hh"

using namespace vantage::testing;
using Clock = std::chrono::steady_clock;

namespace {

// A TCP connection to the collector from `source` (a loopback address), closed when it goes away.
class RawConnection {
 public:
  RawConnection(const std::string& source, uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    const timeval timeout{0, 200'000};  // reads wait at most this long
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    const auto from = socket_address(source, 0);
    REQUIRE(bind(fd_, from.get(), from.length) == 0);
    const auto to = socket_address("127.0.0.1", port);
    REQUIRE(connect(fd_, to.get(), to.length) == 0);
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void send_text(const std::string& text) const {
    (void)::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
  }
  // True once the collector has closed the connection (end of file or a reset).
  bool closed_by_peer() const {
    char byte = 0;
    const ssize_t got = recv(fd_, &byte, 1, 0);
    return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  int fd_;
};

size_t count_lines(const std::string& log, const std::string& needle) {
  size_t count = 0;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) {
      end = log.size();
    }
    count += log.substr(start, end - start).find(needle) != std::string::npos ? 1 : 0;
    start = end + 1;
  }
  return count;
}

}  // namespace

TEST_CASE("idle sockets and a header trickler from one address do not lock an agent out",
          "[hostile]") {
  CollectorFixture collector(
      "limits: { max_connections: 32, max_connections_per_ip: 8, header_timeout: 2s }\n");
  const std::string agent = collector.create_token("vp-1");
  collector.start();

  // More idle sockets from 127.0.0.2 than the whole server takes: the address gets 8 of them,
  // the rest are closed at once.
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<RawConnection>("127.0.0.2", collector.port()));
  }
  // A client from another address that sends one header line a second, never the blank line.
  RawConnection trickler("127.0.0.3", collector.port());
  const auto trickle_start = Clock::now();
  trickler.send_text("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");

  const auto upload_start = Clock::now();
  const auto batch =
      collector.post_from("127.0.0.1", "/api/v1/results", agent, result_batch("vp-1", {1}).dump());
  CHECK(batch.status == 200);
  CHECK(Clock::now() - upload_start < std::chrono::seconds(1));

  bool closed = false;
  for (int i = 0; i < 8 && !closed; ++i) {  // at most about 8 s
    trickler.send_text("X-Trickle: " + std::to_string(i) + "\r\n");
    const auto tick = Clock::now();
    while (!closed && Clock::now() - tick < std::chrono::seconds(1)) {
      closed = trickler.closed_by_peer();
    }
  }
  const auto lasted = Clock::now() - trickle_start;
  CHECK(closed);
  CHECK(lasted >= std::chrono::milliseconds(1800));
  CHECK(lasted < std::chrono::seconds(5));  // the header deadline, not the 30 s idle timeout
  // The watchdog logs just after it closes the socket, so the line may trail the close a little.
  const std::string deadline_line = "that sent no complete request headers within 2 s";
  for (int i = 0; i < 40 && collector.log().find(deadline_line) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // at most 2 s in all
  }
  CHECK_THAT(collector.log(), Catch::Contains("closed a connection from 127.0.0.") &&
                                  Catch::Contains(deadline_line));
}

TEST_CASE("a request path with a newline and an escape sequence makes one escaped log line",
          "[hostile]") {
  CollectorFixture collector;
  collector.start();
  const size_t before = collector.log().size();
  const auto reply = collector.get(
      "/x%0a%5bwarning%5d%20operator%20alice%20removed%20target%20bank.example"
      "%1b%5b2K%0d");
  CHECK(reply.status == 404);
  const std::string log = collector.log(before);
  CHECK(count_lines(log, "removed target bank.example") == 1);
  CHECK(count_lines(log,
                    "HTTP 404 GET /x\\x0a[warning] operator alice removed target "
                    "bank.example\\x1b[2K\\x0d from 127.0.0.1: no such endpoint") == 1);
  CHECK(log.find('\x1b') == std::string::npos);
  CHECK(log.find('\r') == std::string::npos);
}

TEST_CASE("a hundred bad-token requests log five lines and are all counted in /metrics",
          "[hostile]") {
  CollectorFixture collector;
  collector.start();
  const size_t before = collector.log().size();
  for (int i = 0; i < 100; ++i) {
    Request request;
    request.url = collector.url() + "/api/v1/status";
    request.token = "not-a-token-" + std::to_string(i);
    request.source_address = "127.0.0.2";
    REQUIRE(send(request).status == 401);
  }
  const std::string log = collector.log(before);
  const size_t lines = count_lines(log, "HTTP 401");
  CHECK(lines >= 5);
  CHECK(lines <= 6);  // 5 a minute, and one more should a minute end meanwhile
  CHECK(count_lines(log, "from 127.0.0.2: unknown token") == lines);

  const std::string metrics = collector.get("/metrics").body;
  CHECK_THAT(metrics, Catch::Contains("vantage_http_errors_total{code=\"401\"} 100\n"));
  std::smatch held_back;
  REQUIRE(std::regex_search(metrics, held_back,
                            std::regex(R"(vantage_http_error_log_lines_held_back_total (\d+)\n)")));
  CHECK(std::stoul(held_back[1]) == 100 - lines);

  // Another address still gets its own line: one flood does not hide everyone else.
  const size_t second = collector.log().size();
  CHECK(collector.get("/api/v1/status", "wrong").status == 401);
  CHECK(count_lines(collector.log(second), "HTTP 401 GET /api/v1/status from 127.0.0.1") == 1);
}
