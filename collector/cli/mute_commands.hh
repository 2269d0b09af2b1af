#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "cli.hh"

// The client commands for maintenance windows and silences: what holds alerts back.
namespace vantage {

struct WindowRequest {
  std::string domain;  // a domain, a pattern ("*.shop.example"), or "*" (--all)
  std::string start;   // "now", "2026-12-01T02:00", or "02:00" with `every`
  std::string duration;
  std::string every;  // "Mon,Thu", "daily"; empty: once
  std::string timezone;
  std::string reason;
};
int maintenance_add_command(const ClientOptions& options, const WindowRequest& window,
                            std::ostream& out);
int maintenance_list_command(const ClientOptions& options, std::ostream& out);
int maintenance_remove_command(const ClientOptions& options, uint64_t id, std::ostream& out);

struct SilenceRequest {
  std::string domain;
  std::string verdict;  // empty: every verdict
  std::string duration;
  std::string comment;
};
int silence_add_command(const ClientOptions& options, const SilenceRequest& silence,
                        std::ostream& out);
int silence_list_command(const ClientOptions& options, std::ostream& out);
int silence_expire_command(const ClientOptions& options, uint64_t id, std::ostream& out);

}  // namespace vantage
