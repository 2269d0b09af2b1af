// The lab's scenario files as scripts/lab, the lab tests and the documentation read them, without
// a lab: every file is valid for both readers, and docs/lab.md and the README name exactly the
// scenarios that have a file.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "lab.hh"
#include "result.hh"
#include "scenario.hh"

namespace vantage::lab {
namespace {

const std::filesystem::path kSource = VANTAGE_SOURCE_DIR;

std::vector<Scenario> scenarios() {
  return load_scenarios(scenario_dir(Lab::get().script()));
}

std::set<std::string> names(const std::vector<Scenario>& all) {
  std::set<std::string> found;
  for (const auto& scenario : all) {
    found.insert(scenario.name);
  }
  return found;
}

std::string text_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void check_model_names(const Expectation& expected) {
  CHECK(verdict_from_string(expected.verdict).has_value());
  for (const auto& [check, alternatives] : expected.failures) {
    INFO("check " << check);
    CHECK(check_from_string(check).has_value());
    for (const auto& classes : alternatives) {
      for (const auto& failure : classes) {
        INFO("failure class " << failure);
        CHECK(failure_from_string(failure).has_value());
      }
    }
  }
}

// The rows of docs/lab.md's scenario table ("| `name` |" or "| `name VP` |"), up to the next
// heading: the name, and whether the row shows a vantage.
std::map<std::string, bool> documented_rows() {
  std::istringstream doc(text_of(kSource / "docs" / "lab.md"));
  std::map<std::string, bool> rows;
  const std::regex row(R"(^\| `([a-z0-9-]+)( VP)?` \|)");
  bool in_section = false;
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("## ", 0) == 0 || line.rfind("### ", 0) == 0) {
      in_section = line == "## Scenarios";
      continue;
    }
    std::smatch match;
    if (in_section && std::regex_search(line, match, row)) {
      rows[match[1]] = match[2].matched;
    }
  }
  return rows;
}

TEST_CASE("every scenario file names the result model's verdicts, checks and failure classes",
          "[lab-files]") {
  const auto all = scenarios();
  REQUIRE(all.size() >= 15);
  for (const auto& scenario : all) {
    INFO("scenario " << scenario.name);
    CHECK(!scenario.about.empty());
    check_model_names(scenario.during);
    if (!scenario.vantage.empty()) {
      CHECK(verdict_from_string(scenario.others).has_value());
    }
    if (scenario.after_flush) {
      check_model_names(*scenario.after_flush);
    }
  }
}

TEST_CASE("a scenario file with a key the tests do not know is an error naming file and line",
          "[lab-files]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vantage-lab-files-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "odd.scenario";
  std::ofstream(file) << "name odd\nabout a test\nvantage none\nverdict OK\nfailures Tcp None\n";
  CHECK_THROWS_WITH(load_scenario(file), Catch::Contains("odd.scenario:5: failures: unknown key"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("scripts/lab checks every scenario file and lists the ones the tests read",
          "[lab-files]") {
  const auto listed = Lab::get().lab({"scenarios"}, std::chrono::seconds(30));
  INFO(listed.out << listed.err);
  REQUIRE(listed.exit_code == 0);
  std::set<std::string> from_script;
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);) {
    from_script.insert(line.substr(0, line.find('\t')));
  }
  CHECK(from_script == names(scenarios()));
}

TEST_CASE("docs/lab.md has one row for every scenario file, and none for another", "[lab-files]") {
  const auto rows = documented_rows();
  std::set<std::string> documented;
  for (const auto& [name, shows_vantage] : rows) {
    documented.insert(name);
  }
  const auto all = scenarios();
  CHECK(documented == names(all));
  for (const auto& scenario : all) {
    if (rows.count(scenario.name) == 1) {
      INFO(scenario.name << ": its row shows VP exactly when it takes a vantage");
      CHECK(rows.at(scenario.name) == !scenario.vantage.empty());
    }
  }
}

TEST_CASE("the README and docs/ break only scenarios that have a file", "[lab-files]") {
  const auto known = names(scenarios());
  std::vector<std::filesystem::path> pages = {kSource / "README.md"};
  for (const auto& entry : std::filesystem::directory_iterator(kSource / "docs")) {
    if (entry.path().extension() == ".md") {
      pages.push_back(entry.path());
    }
  }
  const std::regex mention(R"(scripts/lab break ([a-z0-9-]+))");
  size_t mentions = 0;
  for (const auto& page : pages) {
    const std::string text = text_of(page);
    for (std::sregex_iterator it(text.begin(), text.end(), mention), end; it != end; ++it) {
      INFO(page.filename().string() << " names scripts/lab break " << (*it)[1]);
      CHECK(known.count((*it)[1]) == 1);
      ++mentions;
    }
  }
  CHECK(mentions > 0);
}

}  // namespace
}  // namespace vantage::lab
