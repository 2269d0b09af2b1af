#include "collector_fleet.hh"

#include <catch2/catch.hpp>

#include <utility>

namespace vantage::testing {

using nlohmann::json;

namespace {

json one_result_batch(const std::string& agent, uint64_t seq, json cycle) {
  return {{"schema_version", 1},
          {"agent", agent},
          {"results", {{{"seq", seq}, {"cycle", std::move(cycle)}}}}};
}

}  // namespace

Fleet::Fleet(CollectorFixture& fixture) : collector(fixture) {
  op = collector.create_token("ops", true);
  for (const auto* agent : {"vp1", "vp2", "vp3"}) {
    tokens[agent] = collector.create_token(agent);
  }
}

void Fleet::heartbeats() {
  for (const auto& [agent, asn] :
       {std::pair{"vp1", 64510}, std::pair{"vp2", 64510}, std::pair{"vp3", 64511}}) {
    const json beat = {
        {"agent", agent}, {"version", "0.1.0"}, {"uptime_s", 5}, {"spool_depth", 0}, {"asn", asn}};
    REQUIRE(collector.post("/api/v1/heartbeat", tokens[agent], beat.dump()).status == 200);
  }
}

void Fleet::round(Verdict vp1, Verdict vp2, Verdict vp3, const std::vector<ProbeResult>& warnings) {
  round_at += kSpacing;
  for (const auto& [agent, verdict] :
       {std::pair{"vp1", vp1}, std::pair{"vp2", vp2}, std::pair{"vp3", vp3}}) {
    upload(agent, verdict, round_at, warnings);
  }
}

void Fleet::rounds(Verdict verdict) {
  round(verdict, verdict, verdict);
  round(verdict, verdict, verdict);
}

void Fleet::upload(const std::string& agent, Verdict verdict,
                   std::chrono::system_clock::time_point started_at,
                   const std::vector<ProbeResult>& warnings, const std::string& source) {
  const std::string body =
      one_result_batch(agent, ++seqs[agent], cycle_document(kDomain, verdict, started_at, warnings))
          .dump();
  const auto reply = source.empty()
                         ? collector.post("/api/v1/results", tokens[agent], body)
                         : collector.post_from(source, "/api/v1/results", tokens[agent], body);
  INFO(reply.error << reply.body);
  REQUIRE(reply.status == 200);
}

Reply Fleet::send(const std::string& agent, uint64_t seq, Verdict verdict,
                  std::chrono::system_clock::time_point started_at) {
  return collector.post(
      "/api/v1/results", tokens.at(agent),
      one_result_batch(agent, seq, cycle_document(kDomain, verdict, started_at)).dump());
}

json Fleet::status() const {
  const auto reply = collector.get("/api/v1/status", op);
  REQUIRE(reply.status == 200);
  return reply.json();
}

json Fleet::domain() const {
  for (const auto& entry : status()) {
    if (entry["domain"] == kDomain) {
      return entry;
    }
  }
  return json();
}

std::string Fleet::verdict() const {
  const json entry = domain();
  return entry.is_object() ? entry.value("verdict", std::string()) : std::string();
}

json Fleet::vantage(const std::string& name) const {
  const auto reply = collector.get(std::string("/api/v1/domains/") + kDomain, op);
  for (const auto& entry : reply.json().value("vantages", json::array())) {
    if (entry["agent"] == name) {
      return entry;
    }
  }
  return json();
}

json Fleet::agent(const std::string& name) const {
  for (const auto& entry : collector.get("/api/v1/agents", op).json()) {
    if (entry["name"] == name) {
      return entry;
    }
  }
  return json();
}

json Fleet::alerts() const {
  const auto reply = collector.get("/api/v1/alerts", op);
  REQUIRE(reply.status == 200);
  return reply.json();
}

json Fleet::alert() const {
  for (const auto& entry : alerts().value("alerts", json::array())) {
    if (entry["domain"] == kDomain) {
      return entry;
    }
  }
  return json();
}

CommandResult Fleet::cli(std::vector<std::string> args) const {
  args.insert(args.end(), {"--url", collector.url()});
  return collector.cli(args, {"VANTAGE_TOKEN=" + op});
}

}  // namespace vantage::testing
