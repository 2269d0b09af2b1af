#include "probe_lab.hh"

#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "support/net.hh"
#include "support/zone.hh"

#ifndef VANTAGE_AGENT_PATH
#define VANTAGE_AGENT_PATH ""
#endif

namespace vantage::testing {
namespace {

using std::string;

// Short enough that the whole suite stays fast, long enough for an ASan build of the agent on a
// busy machine: nothing in the lab should ever time out.
constexpr std::string_view kProbeTimeout = "3s";
constexpr auto kAgentDeadline = std::chrono::seconds(60);
constexpr std::string_view kDropTable = "vantage_silence";

string text_field(const nlohmann::json& object, const char* key) {
  if (!object.is_object() || !object.contains(key))
    return "<no " + string(key) + ">";
  const auto& value = object.at(key);
  return value.is_string() ? value.get<string>() : value.dump();
}

// Whether a result's subject asks `question` ("social.test A"): the probe may name the server
// after it ("social.test A @ns1.social.test"), and "social.test A" must not match "... AAAA".
bool asks(const string& subject, std::string_view question) {
  return subject.starts_with(question) &&
         (subject.size() == question.size() || subject[question.size()] == ' ');
}

Zone root_zone(const SigningKey& test_key) {
  Zone zone{".", "ns.test.", 30, {}};
  zone.records = {
      {".", "NS", "ns.test."},
      {"test.", "NS", "ns.test."},
      {"test.", "DS", test_key.ds},
      {"ns.test.", "A", string(kParentV4)},
      {"ns.test.", "AAAA", string(kParentV6)},
  };
  return zone;
}

Zone test_zone(bool delegated, const SigningKey& child_key) {
  Zone zone{"test.", "ns.test.", 30, {}};
  zone.records = {
      {"test.", "NS", "ns.test."},
      {"ns.test.", "A", string(kParentV4)},
      {"ns.test.", "AAAA", string(kParentV6)},
  };
  if (delegated) {
    zone.records.insert(zone.records.end(), {
                                                {"social.test.", "NS", "ns1.social.test."},
                                                {"social.test.", "DS", child_key.ds},
                                                {"ns1.social.test.", "A", string(kChildV4)},
                                                {"ns1.social.test.", "AAAA", string(kChildV6)},
                                            });
  }
  return zone;
}

Zone social_zone() {
  Zone zone{"social.test.", "ns1.social.test.", 30, {}};
  zone.records = {
      {"social.test.", "NS", "ns1.social.test."},     {"ns1.social.test.", "A", string(kChildV4)},
      {"ns1.social.test.", "AAAA", string(kChildV6)}, {"social.test.", "A", string(kWebV4)},
      {"social.test.", "AAAA", string(kWebV6)},
  };
  return zone;
}

}  // namespace

std::vector<string> lab_addresses() {
  return {string(kParentV4), string(kParentV6), string(kChildV4),    string(kChildV6),
          string(kWebV4),    string(kWebV6),    string(kResolverV4), string(kResolverV6)};
}

string target(std::string_view ip, int port) {
  const string host = ip.find(':') == std::string_view::npos ? string(ip) : "[" + string(ip) + "]";
  return host + ":" + std::to_string(port);
}

std::filesystem::path agent_path() {
  if (const char* path = std::getenv("VANTAGE_AGENT"); path != nullptr && *path != '\0') {
    return path;
  }
  return VANTAGE_AGENT_PATH;
}

string ProbeRun::verdict() const {
  if (!doc.is_object() || !doc.contains("reading"))
    return "<no reading>";
  return text_field(doc.at("reading"), "verdict");
}

std::vector<nlohmann::json> ProbeRun::results(std::string_view check) const {
  std::vector<nlohmann::json> found;
  if (!doc.is_object() || !doc.contains("results") || !doc.at("results").is_array())
    return found;
  for (const auto& result : doc.at("results")) {
    if (text_field(result, "check") == check)
      found.push_back(result);
  }
  return found;
}

std::optional<nlohmann::json> ProbeRun::result(std::string_view check, std::string_view target,
                                               std::string_view subject) const {
  for (const auto& result : results(check)) {
    if (text_field(result, "target") != target)
      continue;
    if (!subject.empty() && !asks(text_field(result, "subject"), subject))
      continue;
    return result;
  }
  return std::nullopt;
}

string ProbeRun::describe() const {
  string text = "command:";
  for (const auto& arg : command)
    text += " " + arg;
  text += "\nexit status: " + std::to_string(outcome.exit_code);
  if (outcome.timed_out)
    text += " (killed: no answer within the deadline)";
  if (!outcome.err.empty())
    text += "\nstderr:\n" + outcome.err;
  if (doc.is_null()) {
    text += "\nstdout is not JSON (" + parse_error + "):\n" + outcome.out;
  } else {
    text += "\njson:\n" + doc.dump(1);
  }
  return text;
}

ProbeLab::ProbeLab() : dir_("vantage-lab") {
  // Certificates: one trusted CA (handed to the probe with --ca) and one nobody trusts.
  const CertificateAuthority ca("Vantage Test CA");
  const CertificateAuthority rogue("Vantage Untrusted CA");
  const auto pki = dir_.subdir("pki");
  ca_file_ = pki / "ca.crt";
  write_text(ca_file_, ca.cert_pem());
  untrusted_ca_pem_ = rogue.cert_pem();
  const Validity expired{-std::chrono::hours(72), -std::chrono::hours(24)};
  leaves_.valid = ca.issue(kDomain).write(pki, "valid");
  leaves_.expired = ca.issue(kDomain, expired).write(pki, "expired");
  leaves_.wrong_name = ca.issue("other.test").write(pki, "wrong-name");
  leaves_.untrusted = rogue.issue(kDomain).write(pki, "untrusted");
  leaves_.addresses =
      ca.issue(kDomain, {}, {string(kWebV4), string(kWebV6)}).write(pki, "addresses");
  leaves_.outlives_ca =
      ca.issue(kDomain, {-std::chrono::hours(1), std::chrono::hours(24 * 30)}).write(pki, "long");

  // Every zone is signed, as the real root and most TLDs are: a probe must read a signed world
  // exactly as an unsigned one until a signature is wrong.
  const auto keys = dir_.subdir("keys");
  root_key_ = make_signing_key(keys, ".");
  test_key_ = make_signing_key(keys, "test.");
  child_key_ = make_signing_key(keys, "social.test.");
  stray_key_ = make_signing_key(keys, "social.test.");
  const auto zones = dir_.subdir("zones");
  write_text(zones / "root.zone", zone_text(root_zone(test_key_)));
  sign_zone(zones / "root.zone", zones / "root.zone.signed", root_key_, valid_signatures());
  write_parent_zone(true);
  write_child_zone(valid_signatures());

  parent_config_.dir = dir_.subdir("parent-nsd");
  parent_config_.addresses = {string(kParentV4), string(kParentV6)};
  parent_config_.zones = {{".", zones / "root.zone.signed"}, {"test.", zones / "test.zone.signed"}};

  child_config_.dir = dir_.subdir("child-nsd");
  child_config_.addresses = {string(kChildV4), string(kChildV6)};
  child_config_.zones = {{"social.test.", zones / "social.test.zone.signed"}};

  resolver_config_.dir = dir_.subdir("unbound");
  resolver_config_.addresses = {string(kResolverV4), string(kResolverV6)};
  resolver_config_.root_servers = {{"ns.test.", {string(kParentV4), string(kParentV6)}}};
  resolver_config_.trust_anchor = ". IN DS " + root_key_.ds;

  web_config_.dir = dir_.subdir("nginx");
  web_config_.addresses = {string(kWebV4), string(kWebV6)};
  web_config_.server_name = string(kDomain);
  web_config_.certificate = leaves_.valid.cert;
  web_config_.key = leaves_.valid.key;
  web_config_.plain_port = 80;

  restart_parent();
  restart_child();
  restart_web();
  restart_resolver();
}

ProbeLab::~ProbeLab() {
  if (dropping_) {
    // The network namespace outlives this lab: the next case must start without the firewall.
    run_command({"/usr/sbin/nft", "delete", "table", "inet", string(kDropTable)});
  }
  // Explicitly, and in reverse order of dependency, before the temp dir holding their files goes.
  resolver_.reset();
  web_.reset();
  child_.reset();
  parent_.reset();
}

void ProbeLab::write_parent_zone(bool delegated) {
  delegated_ = delegated;
  const auto zones = dir_ / "zones";
  write_text(zones / "test.zone",
             zone_text(test_zone(delegated, ds_matches_ ? child_key_ : stray_key_)));
  sign_zone(zones / "test.zone", zones / "test.zone.signed", test_key_, valid_signatures());
}

void ProbeLab::write_child_zone(SignatureWindow window) {
  const auto zones = dir_ / "zones";
  write_text(zones / "social.test.zone", zone_text(social_zone()));
  sign_zone(zones / "social.test.zone", zones / "social.test.zone.signed", child_key_, window);
}

void ProbeLab::sign_child_zone(ChildSignatures state) {
  const auto now = std::chrono::system_clock::now();
  const auto days = [](int n) { return std::chrono::hours(24 * n); };
  SignatureWindow window = valid_signatures();
  if (state == ChildSignatures::Expired) {
    window = {now - days(60), now - days(30)};
  } else if (state == ChildSignatures::ExpiringSoon) {
    // Signed for a month, 28 days ago, and not signed again since: what a stopped re-signing job
    // leaves behind.
    window = {now - days(28), now + days(2)};
  }
  write_child_zone(window);
  restart_child();
  const bool ds_matches = state != ChildSignatures::DsMismatch;
  if (ds_matches != ds_matches_) {
    ds_matches_ = ds_matches;
    write_parent_zone(delegated_);
    restart_parent();
  }
  restart_resolver();
}

void ProbeLab::restart_parent() {
  parent_.reset();
  parent_.emplace(start_nsd(parent_config_, "nsd for . and test."));
}

void ProbeLab::restart_child() {
  child_.reset();
  child_.emplace(start_nsd(child_config_, "nsd for social.test."));
}

void ProbeLab::restart_resolver() {
  resolver_.reset();
  resolver_.emplace(start_unbound(resolver_config_));
}

void ProbeLab::restart_web() {
  web_.reset();
  web_.emplace(start_nginx(web_config_));
}

void ProbeLab::stop_web() {
  web_.reset();
}

void ProbeLab::serve_status(int status) {
  web_config_.status = status;
  restart_web();
}

void ProbeLab::serve_body(std::string_view body) {
  web_config_.body_file = dir_.subdir("www") / "page.txt";
  write_text(web_config_.body_file, body);
  restart_web();
}

void ProbeLab::serve_certificate(Leaf leaf) {
  const Certificate::Files* files = &leaves_.valid;
  switch (leaf) {
    case Leaf::Valid:
      break;
    case Leaf::Expired:
      files = &leaves_.expired;
      break;
    case Leaf::WrongName:
      files = &leaves_.wrong_name;
      break;
    case Leaf::UntrustedCa:
      files = &leaves_.untrusted;
      break;
    case Leaf::Addresses:
      files = &leaves_.addresses;
      break;
    case Leaf::OutlivesCa:
    case Leaf::RenewedButV4:
      files = &leaves_.outlives_ca;
      break;
  }
  web_config_.certificate = files->cert;
  web_config_.key = files->key;
  web_config_.certificate_at.clear();
  if (leaf == Leaf::RenewedButV4) {
    web_config_.certificate_at.push_back({string(kWebV4), leaves_.valid.cert, leaves_.valid.key});
  }
  restart_web();
}

void ProbeLab::serve_internal_zone(const std::string& zone, std::vector<std::string> records) {
  resolver_config_.local_zones.push_back(zone);
  resolver_config_.local_data = std::move(records);
  restart_resolver();
}

void ProbeLab::web_listens_on(std::vector<string> addresses) {
  web_config_.addresses = std::move(addresses);
  restart_web();
}

void ProbeLab::set_child_zone(ChildZone state) {
  const auto zonefile = dir_ / "zones" / "social.test.zone.signed";
  switch (state) {
    case ChildZone::Served:
      child_config_.zones = {{"social.test.", zonefile}};
      break;
    case ChildZone::Absent:
      child_config_.zones.clear();
      break;
    case ChildZone::Unloadable:
      child_config_.zones = {{"social.test.", dir_ / "zones" / "missing.zone"}};
      break;
  }
  restart_child();
  // The fixture checks itself, so that a failing case blames the probe only when the lab
  // really is in the state the case describes.
  for (const auto address : {kChildV4, kChildV6}) {
    auto reply = query_dns(address, 53, "social.test.", 1, false, std::chrono::seconds(1));
    const int expected = state == ChildZone::Served ? 0 : state == ChildZone::Absent ? 5 : 2;
    if (!reply || reply->rcode != expected) {
      throw std::runtime_error("lab: the child NSD at " + string(address) + " answers rcode " +
                               (reply ? std::to_string(reply->rcode) : string("nothing")) +
                               ", expected " + std::to_string(expected));
    }
  }
  restart_resolver();
}

void ProbeLab::set_delegation(bool present) {
  write_parent_zone(present);
  restart_parent();
  for (const auto address : {kParentV4, kParentV6}) {
    auto reply = query_dns(address, 53, "social.test.", 2, false, std::chrono::seconds(1));
    const int expected = present ? 0 : 3;  // a referral, or NXDOMAIN
    if (!reply || reply->rcode != expected) {
      throw std::runtime_error("lab: the parent NSD at " + string(address) + " answers rcode " +
                               (reply ? std::to_string(reply->rcode) : string("nothing")) +
                               ", expected " + std::to_string(expected));
    }
  }
  restart_resolver();
}

void ProbeLab::drop_silently(const std::string& match) {
  const string table = string(kDropTable);
  const std::vector<std::vector<string>> commands = {
      {"/usr/sbin/nft", "add", "table", "inet", table},
      {"/usr/sbin/nft", "add", "chain", "inet", table, "input",
       "{ type filter hook input priority 0 ; policy accept ; }"},
      {"/usr/sbin/nft", "add", "rule", "inet", table, "input", match, "drop"}};
  dropping_ = true;
  for (const auto& command : commands) {
    const auto result = run_command(command);
    if (result.exit_code != 0) {
      throw std::runtime_error("nft failed: " + result.err);
    }
  }
}

ProbeRun ProbeLab::probe(const ProbeOptions& options) {
  ProbeRun run;
  ++probe_count_;
  const string state =
      options.state.empty() ? "state-" + std::to_string(probe_count_) : options.state;
  run.command = {agent_path().string(), "probe", options.target};
  for (const auto& resolver : options.resolvers) {
    run.command.insert(run.command.end(), {"--resolver", resolver});
  }
  if (options.pin_ca) {
    run.command.insert(run.command.end(), {"--ca", ca_file_.string()});
  }
  run.command.insert(run.command.end(), {"--timeout", string(kProbeTimeout), "--state-dir",
                                         dir_.subdir(state).string()});
  if (options.json) {
    run.command.push_back("--json");
  }
  run.command.insert(run.command.end(), options.extra_args.begin(), options.extra_args.end());
  run.outcome = run_command(run.command, kAgentDeadline);
  // Next to the daemons' logs, for a post-mortem with VANTAGE_KEEP_LAB=1.
  write_text(dir_ / ("probe-" + std::to_string(probe_count_) + ".out"), run.outcome.out);
  write_text(dir_ / ("probe-" + std::to_string(probe_count_) + ".err"), run.outcome.err);
  if (!options.json) {
    return run;
  }
  try {
    run.doc = nlohmann::json::parse(run.outcome.out);
  } catch (const nlohmann::json::exception& error) {
    run.doc = nullptr;
    run.parse_error = error.what();
  }
  return run;
}

}  // namespace vantage::testing
