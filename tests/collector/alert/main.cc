// vantage-alerts-tests: the alert payloads, the dispatcher against loopback receivers, and against
// a real prometheus-alertmanager. A run that selects only the Alertmanager tests where its binary
// is missing prints SKIPPED and exits 77 (ctest's SKIP_RETURN_CODE), unless VANTAGE_REQUIRE_LAB=1.
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>

#include "alertmanager_server.hh"

namespace vantage::testing {

namespace {

constexpr int kSkipExitCode = 77;

bool selects_only_alertmanager_tests(Catch::Session& session) {
  const Catch::Config& config = session.config();
  const auto selected =
      Catch::filterTests(Catch::getAllTestCasesSorted(config), config.testSpec(), config);
  return !selected.empty() &&
         std::all_of(selected.begin(), selected.end(), [](const Catch::TestCase& test) {
           return test.tags.size() == 1 && test.tags[0] == "alertmanager";
         });
}

}  // namespace
}  // namespace vantage::testing

int main(int argc, char* argv[]) {
  using namespace vantage::testing;
  Catch::Session session;
  if (const int status = session.applyCommandLine(argc, argv); status != 0) {
    return status;
  }
  if (!AlertmanagerServer::binary() && !AlertmanagerServer::required() &&
      selects_only_alertmanager_tests(session)) {
    std::printf("SKIPPED: prometheus-alertmanager is not installed\n");
    return kSkipExitCode;
  }
  const int failed = session.run();
  // Catch2 exits with the number of failed assertions; 77 of them must not read as "skipped".
  return failed == kSkipExitCode ? 1 : failed;
}
