#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent_identity.hh"
#include "spool.hh"

using namespace vantage;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "vantage-spool-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

std::vector<uint64_t> seqs(const std::vector<Spool::Entry>& entries) {
  std::vector<uint64_t> out;
  for (const auto& entry : entries) {
    out.push_back(entry.seq);
  }
  return out;
}

}  // namespace

TEST_CASE("spooled results come back oldest first with increasing numbers", "[spool]") {
  TempDir dir;
  Spool spool(dir.path, 1 << 20);
  CHECK(spool.append("{\"n\":1}") == 1);
  CHECK(spool.append("{\"n\":2}") == 2);
  CHECK(spool.append("{\"n\":3}") == 3);
  const auto entries = spool.oldest(2, 1 << 20);
  CHECK(seqs(entries) == std::vector<uint64_t>{1, 2});
  CHECK(entries[1].document == "{\"n\":2}");
  CHECK(spool.depth() == 3);
}

TEST_CASE("acknowledged results are deleted and their numbers never reused", "[spool]") {
  TempDir dir;
  {
    Spool spool(dir.path, 1 << 20);
    spool.append("a");
    spool.append("b");
    spool.append("c");
    spool.acknowledge(3);
    CHECK(spool.depth() == 0);
  }
  Spool reopened(dir.path, 1 << 20);
  CHECK(reopened.last_acknowledged() == 3);
  CHECK(reopened.append("d") == 4);
}

TEST_CASE("results survive a restart that was not acknowledged", "[spool]") {
  TempDir dir;
  {
    Spool spool(dir.path, 1 << 20);
    spool.append("a");
    spool.append("b");
    spool.acknowledge(1);
  }
  Spool reopened(dir.path, 1 << 20);
  CHECK(seqs(reopened.oldest(10, 1 << 20)) == std::vector<uint64_t>{2});
  CHECK(reopened.append("c") == 3);
}

TEST_CASE("a crash between acknowledging and deleting leaves nothing to resend", "[spool]") {
  TempDir dir;
  {
    Spool spool(dir.path, 1 << 20);
    spool.append("a");
    spool.append("b");
    spool.append("c");
  }
  std::ofstream(dir.path / "acknowledged") << "2\n";
  std::ofstream(dir.path / "00000000000000000009.json.tmp") << "half a resu";
  Spool reopened(dir.path, 1 << 20);
  CHECK(seqs(reopened.oldest(10, 1 << 20)) == std::vector<uint64_t>{3});
  CHECK_FALSE(fs::exists(dir.path / "00000000000000000009.json.tmp"));
  CHECK(reopened.append("d") == 4);
}

TEST_CASE("a full spool drops the oldest results and counts them", "[spool]") {
  TempDir dir;
  Spool spool(dir.path, 10);
  spool.append("aaaa");
  spool.append("bbbb");
  spool.append("cccc");
  CHECK(spool.dropped() == 1);
  CHECK(seqs(spool.oldest(10, 1 << 20)) == std::vector<uint64_t>{2, 3});
  CHECK(spool.bytes() == 8);
}

TEST_CASE("a batch is bounded in bytes but always holds at least one result", "[spool]") {
  TempDir dir;
  Spool spool(dir.path, 1 << 20);
  spool.append(std::string(100, 'x'));
  spool.append(std::string(100, 'y'));
  CHECK(spool.oldest(10, 150).size() == 1);
  CHECK(spool.oldest(10, 10).size() == 1);
}

TEST_CASE("a quarantined result leaves the queue but keeps its number spent", "[spool]") {
  TempDir dir;
  {
    Spool spool(dir.path, 1 << 20);
    spool.append("bad");
    spool.quarantine(1);
    CHECK(spool.depth() == 0);
    CHECK(fs::exists(dir.path / "rejected" / "00000000000000000001.json"));
  }
  Spool reopened(dir.path, 1 << 20);
  CHECK(reopened.append("next") == 2);
}

TEST_CASE("a new state directory gets an epoch, the time in microseconds, kept across restarts",
          "[spool][epoch]") {
  TempDir dir;
  const auto state = dir.path / "state";
  const auto before = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const AgentIdentity created = load_agent_identity(state);
  CHECK(created.created);
  CHECK(created.epoch >= static_cast<uint64_t>(before));
  CHECK(fs::exists(state / "epoch"));
  CHECK_FALSE(fs::exists(state / "epoch.tmp"));

  Spool spool(state / "spool", 1 << 20);  // the daemon opens its spool right after
  const AgentIdentity again = load_agent_identity(state);
  CHECK_FALSE(again.created);
  CHECK(again.epoch == created.epoch);

  // Wiped and created again: a newer epoch, so the collector tells the two directories apart.
  fs::remove_all(state);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const AgentIdentity recreated = load_agent_identity(state);
  CHECK(recreated.created);
  CHECK(recreated.epoch > created.epoch);
}

TEST_CASE("a state directory from before epochs keeps epoch 0, under which its results are stored",
          "[spool][epoch]") {
  TempDir dir;
  {
    Spool spool(dir.path / "spool", 1 << 20);
    spool.append("{\"n\":1}");
  }
  const AgentIdentity upgraded = load_agent_identity(dir.path);
  CHECK(upgraded.created);
  CHECK(upgraded.epoch == 0);
  CHECK(load_agent_identity(dir.path).epoch == 0);
  CHECK_FALSE(load_agent_identity(dir.path).created);
}

TEST_CASE("a spool removed on its own restarts numbering, so it gets a new epoch too",
          "[spool][epoch]") {
  TempDir dir;
  const AgentIdentity first = load_agent_identity(dir.path);
  {
    Spool spool(dir.path / "spool", 1 << 20);
    spool.append("{\"n\":1}");
  }
  fs::remove_all(dir.path / "spool");
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const AgentIdentity second = load_agent_identity(dir.path);
  CHECK(second.created);
  CHECK(second.epoch > first.epoch);
}

TEST_CASE("an epoch file that holds no number stops the agent, naming the file", "[spool][epoch]") {
  TempDir dir;
  fs::create_directories(dir.path / "spool");
  std::ofstream(dir.path / "epoch") << "garbage\n";
  CHECK_THROWS_WITH(load_agent_identity(dir.path), Catch::Contains((dir.path / "epoch").string()) &&
                                                       Catch::Contains("not an epoch"));
}

TEST_CASE("an epoch file removed as its error advises starts a new epoch, spool and all",
          "[spool][epoch]") {
  TempDir dir;
  const AgentIdentity first = load_agent_identity(dir.path);
  {
    Spool spool(dir.path / "spool", 1 << 20);
    spool.append("{\"n\":1}");
  }
  std::ofstream(dir.path / "epoch", std::ios::trunc) << "17x\n";
  CHECK_THROWS_WITH(load_agent_identity(dir.path),
                    Catch::Contains("remove the file to start a new epoch"));

  fs::remove(dir.path / "epoch");
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const AgentIdentity second = load_agent_identity(dir.path);
  CHECK(second.created);
  CHECK(second.epoch > first.epoch);
  CHECK(load_agent_identity(dir.path).epoch == second.epoch);
  Spool reopened(dir.path / "spool", 1 << 20);  // the unsent result is still there to send
  CHECK(reopened.depth() == 1);
}

TEST_CASE("an unreadable epoch file of a directory an older agent made: removed, a new epoch",
          "[spool][epoch]") {
  TempDir dir;
  {
    Spool spool(dir.path / "spool", 1 << 20);
    spool.append("{\"n\":1}");
  }
  // As an agent wrote it before the epochs marker existed: an epoch file and a spool, no more.
  std::ofstream(dir.path / "epoch") << "\x01\x02\n";
  CHECK_THROWS_WITH(load_agent_identity(dir.path), Catch::Contains("not an epoch"));
  fs::remove(dir.path / "epoch");
  CHECK(load_agent_identity(dir.path).epoch > 0);
}
