#pragma once

#include <string>
#include <vector>

#include "api_rate_limit.hh"
#include "http_server.hh"
#include "read_model.hh"
#include "storage.hh"
#include "tokens.hh"
#include "ui_sessions.hh"

// The operator UI under /ui: login with an operator token (form POST), then a session cookie;
// the overview of every domain from every vantage, a domain's explanation, agents and alerts.
// Every POST carries its CSRF token; pages work without JavaScript.
namespace vantage {

enum class UiRoute : uint8_t { Root, Overview, LoginForm, Login, Logout, Domain, Agents, Alerts };

class OperatorUi {
 public:
  // `tls`: the collector serves HTTPS, so cookies are marked Secure.
  OperatorUi(ReadModel& read, TokenVerifier& tokens, bool tls);

  // `arguments`: what the route's "*"s matched (the DOMAIN of /ui/domains/DOMAIN).
  HttpResponse handle(const HttpRequest& request, UiRoute route,
                      const std::vector<std::string>& arguments);

 private:
  HttpResponse login_form(const std::string& error, int status);
  HttpResponse login(const HttpRequest& request);
  HttpResponse logout(const HttpRequest& request, const UiSession& session);
  HttpResponse overview(const HttpRequest& request, const UiSession& session);
  HttpResponse domain(const std::string& name, const UiSession& session);
  std::string cookie(std::string_view name, std::string_view value, std::string_view path,
                     std::chrono::seconds max_age) const;

  ReadModel& read_;
  TokenVerifier& tokens_;
  const bool tls_;
  UiSessions sessions_;
  // Wrong tokens from one address: a few a second, so a token cannot be guessed by trying.
  RateLimiter login_attempts_{1, 5};
};

}  // namespace vantage
