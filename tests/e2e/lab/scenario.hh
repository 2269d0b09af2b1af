#pragma once

// A lab scenario as its file describes it (tests/e2e/lab/scenarios/NAME.scenario, the format in
// docs/lab.md): what the lab tests expect while it is broken. scripts/lab reads the same file for
// how to break and fix it.

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vantage::lab {

// What a probe from one vantage must read.
struct Expectation {
  std::string verdict;
  // Per check, the sets of failure classes its results may show: the set a probe shows must be
  // one of them. An empty set means the check has no result at all ("absent" in the file).
  std::map<std::string, std::vector<std::set<std::string>>> failures;
};

struct Scenario {
  std::string name;
  std::string about;
  // The vantage the tests break it at ("vantage one VP"); empty when it takes none.
  std::string vantage;
  // On every vantage, or, when the scenario takes one, on that vantage.
  Expectation during;
  // The verdict of every other vantage, when the scenario takes one.
  std::string others;
  // From the first vantage once scripts/lab flush has emptied the resolvers' caches.
  std::optional<Expectation> after_flush;

  // scripts/lab break's arguments: {name} or {name, vantage}.
  std::vector<std::string> break_args() const;
};

// Reads one scenario file; throws std::runtime_error naming the file, the line and the key for
// anything it does not know. The break and fix lines are scripts/lab's and are not checked here.
Scenario load_scenario(const std::filesystem::path& file);

// Every NAME.scenario in `dir`, sorted by name.
std::vector<Scenario> load_scenarios(const std::filesystem::path& dir);

// The scenario files scripts/lab at `lab_script` reads: tests/e2e/lab/scenarios of its tree.
std::filesystem::path scenario_dir(const std::filesystem::path& lab_script);

}  // namespace vantage::lab
