#include "target.hh"

namespace vantage {

nlohmann::json to_json(const Target& target) {
  return {{"domain", target.domain},
          {"port", target.port},
          {"path", target.path},
          {"expect_status", target.expect_status},
          {"body_regex", target.body_regex}};
}

}  // namespace vantage
