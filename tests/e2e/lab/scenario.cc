#include "scenario.hh"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vantage::lab {
namespace {

std::vector<std::string> words_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) {
    words.push_back(word);
  }
  return words;
}

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// "Timeout or ServFail or ServFail,Timeout": the sets of failure classes allowed.
std::vector<std::set<std::string>> alternatives_of(const std::vector<std::string>& words,
                                                   size_t from) {
  std::vector<std::set<std::string>> sets;
  bool expect_set = true;
  for (size_t i = from; i < words.size(); ++i) {
    if (!expect_set) {
      if (words[i] != "or") {
        return {};
      }
      expect_set = true;
      continue;
    }
    std::set<std::string> classes;
    if (words[i] != "absent") {
      std::istringstream in(words[i]);
      for (std::string one; std::getline(in, one, ',');) {
        if (one.empty()) {
          return {};
        }
        classes.insert(one);
      }
    }
    sets.push_back(std::move(classes));
    expect_set = false;
  }
  return expect_set ? std::vector<std::set<std::string>>{} : sets;
}

class Reader {
 public:
  explicit Reader(std::filesystem::path file) : file_(std::move(file)) {}

  Scenario read() {
    std::ifstream in(file_);
    if (!in) {
      throw std::runtime_error(file_.string() + ": cannot be read");
    }
    std::string line;
    while (std::getline(in, line)) {
      ++number_;
      line = trimmed(line);
      if (line.empty() || line.front() == '#') {
        continue;
      }
      auto words = words_of(line);
      key_ = words.front();
      if (words.size() < 2) {
        fail("no value");
      }
      if (key_ == "after-flush") {
        if (!scenario_.after_flush) {
          scenario_.after_flush = Expectation{};
        }
        words.erase(words.begin());
        key_ = "after-flush " + words.front();
        if (words.size() < 2) {
          fail("no value");
        }
        expectation(*scenario_.after_flush, words);
        continue;
      }
      header(words, trimmed(line.substr(key_.size())));
    }
    return finish();
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(file_.string() + ":" + std::to_string(number_) + ": " + key_ + ": " +
                             what);
  }

  void expectation(Expectation& into, const std::vector<std::string>& words) {
    if (words[0] == "verdict") {
      if (words.size() != 2) {
        fail("one verdict");
      }
      into.verdict = words[1];
    } else if (words[0] == "failure") {
      if (words.size() < 3) {
        fail("CHECK CLASSES [or CLASSES...]");
      }
      auto sets = alternatives_of(words, 2);
      if (sets.empty()) {
        fail("CHECK CLASSES [or CLASSES...], CLASSES comma-separated or 'absent'");
      }
      auto& alternatives = into.failures[words[1]];
      alternatives.insert(alternatives.end(), sets.begin(), sets.end());
    } else {
      fail("unknown key");
    }
  }

  void header(const std::vector<std::string>& words, const std::string& value) {
    if (key_ == "name") {
      scenario_.name = value;
    } else if (key_ == "about") {
      scenario_.about = value;
    } else if (key_ == "vantage") {
      if (words.size() == 2 && words[1] == "none") {
        scenario_.vantage.clear();
      } else if (words.size() == 3 && words[1] == "one") {
        scenario_.vantage = words[2];
      } else {
        fail("'none', or 'one VP'");
      }
      vantage_seen_ = true;
    } else if (key_ == "others") {
      scenario_.others = value;
    } else if (key_ == "verdict" || key_ == "failure") {
      expectation(scenario_.during, words);
    } else if (key_ != "break" && key_ != "says" && key_ != "wire" && key_ != "fix" &&
               key_ != "fixed") {
      fail("unknown key");
    }
  }

  Scenario finish() {
    const std::string where = file_.string() + ": ";
    if (scenario_.name != file_.stem().string()) {
      throw std::runtime_error(where + "the name line must be the file's name, " +
                               file_.stem().string());
    }
    if (scenario_.about.empty() || !vantage_seen_ || scenario_.during.verdict.empty()) {
      throw std::runtime_error(where + "needs about, vantage and verdict lines");
    }
    if (scenario_.vantage.empty() != scenario_.others.empty()) {
      throw std::runtime_error(where + "'others' goes with 'vantage one VP', and only with it");
    }
    if (scenario_.after_flush && scenario_.after_flush->verdict.empty()) {
      throw std::runtime_error(where + "after-flush lines need an after-flush verdict");
    }
    return scenario_;
  }

  std::filesystem::path file_;
  Scenario scenario_;
  size_t number_ = 0;
  std::string key_;
  bool vantage_seen_ = false;
};

}  // namespace

std::vector<std::string> Scenario::break_args() const {
  if (vantage.empty()) {
    return {name};
  }
  return {name, vantage};
}

Scenario load_scenario(const std::filesystem::path& file) {
  return Reader(file).read();
}

std::vector<Scenario> load_scenarios(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".scenario") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<Scenario> scenarios;
  scenarios.reserve(files.size());
  for (const auto& file : files) {
    scenarios.push_back(load_scenario(file));
  }
  return scenarios;
}

std::filesystem::path scenario_dir(const std::filesystem::path& lab_script) {
  return lab_script.parent_path().parent_path() / "tests" / "e2e" / "lab" / "scenarios";
}

}  // namespace vantage::lab
