#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vantage::testing {

// Moves this process into a network namespace of its own, brings `lo` up and puts `addresses`
// (IP literals, documentation ranges only) on it. Every child started afterwards inherits the
// namespace, so nothing a test starts can reach the host's network, and daemons can bind the
// well-known ports (53, 443) their real counterparts use. Call before any thread exists.
// Returns "" on success, else why the lab cannot run here.
std::string enter_private_network(const std::vector<std::string>& addresses);

// True when VANTAGE_REQUIRE_LAB=1: then a lab that cannot run is a failure, not a skip.
bool lab_required();

// The process exit status for a lab test that cannot run here. Prints "SKIPPED: <reason>" and
// returns 77 (ctest's SKIP_RETURN_CODE), or, when the lab is required, prints
// "FAILED: <reason>" and returns 1.
int lab_unavailable(std::string_view reason);

// The exit code ctest takes for "skipped".
inline constexpr int kSkipExitCode = 77;

}  // namespace vantage::testing
