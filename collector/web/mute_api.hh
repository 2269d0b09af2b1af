#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "alerts.hh"

// The API's maintenance windows and silences (docs/api.md), over the alert dispatcher that keeps
// them. Each call answers the status and body of its reply, or throws ApiError (400/404/422) or
// StorageError.
//   GET    /api/v1/maintenance       every window, with when it is on or next starts
//   POST   /api/v1/maintenance       {domain, start ("now" or local time), duration, every?,
//                                     timezone?, reason} -> 201 the window
//   DELETE /api/v1/maintenance/ID    -> 200 {id}
//   GET    /api/v1/silences          the silences on now or ended in the last day
//   POST   /api/v1/silences          {domain, verdict?, duration, comment} -> 201 the silence
//   DELETE /api/v1/silences/ID       expires it now -> 200 the silence
namespace vantage {

struct MuteReply {
  int status = 200;
  nlohmann::json body;
};

class MuteApi {
 public:
  explicit MuteApi(AlertDispatcher& alerts) : alerts_(alerts) {}

  MuteReply list_windows() const;
  MuteReply add_window(const std::string& body, const std::string& operator_name);
  MuteReply remove_window(const std::string& id, const std::string& operator_name);
  MuteReply list_silences() const;
  MuteReply add_silence(const std::string& body, const std::string& operator_name);
  MuteReply expire_silence(const std::string& id, const std::string& operator_name);

 private:
  AlertDispatcher& alerts_;
};

}  // namespace vantage
