#!/usr/bin/env python3
"""The collector's pages as a person sees them: headless Chromium loads the public status page and
the operator UI from a running collector fed by real agents, logs in with the keyboard, and checks
the rendered DOM; a screenshot of each page is written to --out.

It also registers an agent whose version and evidence carry markup (<script>, an onerror
handler) and checks that the pages show it as text and that none of it ever runs.

Exit 0 when every check holds; otherwise each failed check is printed and the exit is 1.
"""

import argparse
import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cdp import Browser  # noqa: E402

MARKUP_VERSION = "<script>window.__xss=1</script><img src=x onerror=__xss=2>"  # at most 64
MARKUP_EVIDENCE = "<script>window.__xss=3</script> from a hostile agent"
XSS_AGENT = "xss-probe"
XSS_DOMAIN = "xss.example"

failures = []


def check(what, holds, detail=""):
    print(f"{'ok  ' if holds else 'FAIL'} {what}" + ("" if holds else f": {detail}"), flush=True)
    if not holds:
        failures.append(what)


def post(url, token, document):
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.status


def register_hostile_agent(base, token, agent_binary):
    """An agent whose own words (its version, its evidence) are markup."""
    post(f"{base}/api/v1/heartbeat", token,
         {"agent": XSS_AGENT, "version": MARKUP_VERSION, "uptime_s": 1, "spool_depth": 0})
    # A real cycle, from the real agent: its resolver is a closed loopback port, so it is quick.
    probe = subprocess.run([agent_binary, "probe", XSS_DOMAIN, "--resolver", "127.0.0.1:9",
                            "--timeout", "300ms", "--json"], capture_output=True, text=True,
                           timeout=60, check=False)
    cycle = json.loads(probe.stdout)
    cycle["reading"]["evidence"].append(MARKUP_EVIDENCE)
    post(f"{base}/api/v1/results", token,
         {"schema_version": 1, "agent": XSS_AGENT, "results": [{"seq": 1, "cycle": cycle}]})


def text(browser, selector):
    return browser.evaluate(
        f"(e => e ? e.textContent.trim() : null)(document.querySelector({json.dumps(selector)}))")


def count(browser, selector):
    return browser.evaluate(f"document.querySelectorAll({json.dumps(selector)}).length")


def nothing_ran(browser):
    return browser.evaluate("typeof window.__xss") == "undefined"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the collector, e.g. http://198.51.100.225:8470")
    parser.add_argument("--operator-token-file", required=True)
    parser.add_argument("--xss-token-file", required=True, help=f"an agent token named {XSS_AGENT}")
    parser.add_argument("--agent", required=True, help="the vantage-agent binary")
    parser.add_argument("--domain", default="social.example")
    parser.add_argument("--verdict", default="ROUTE_LOSS")
    parser.add_argument("--scope", default="global")
    parser.add_argument("--out", required=True, help="directory for the screenshots")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    operator_token = Path(args.operator_token_file).read_text().strip()
    register_hostile_agent(base, Path(args.xss_token_file).read_text().strip(), args.agent)

    with Browser(hosts=[urllib.parse.urlsplit(base).hostname]) as browser:
        # The public page: components in Statuspage's words, nothing internal.
        browser.open(f"{base}/status")
        dom = browser.dom()
        row = f'tr[data-domain="{args.domain}"]'
        expected = "Major outage" if args.scope == "global" else "Partial outage"
        check("status page: the domain's status in words", text(browser, f"{row} td.status") == expected,
              text(browser, f"{row} td.status"))
        check("status page: the indicator", browser.evaluate(
            "document.getElementById('indicator').dataset.indicator") in ("critical", "major"))
        check("status page: the current incident", args.domain in (text(browser, "#incidents") or ""))
        check("status page: 90 day marks", count(browser, f"{row} svg rect") == 90)
        for secret in ("vp1", "vp2", "vp3", XSS_AGENT, "198.51.100.", "203.0.113.", args.verdict):
            check(f"status page: nothing internal ({secret})", secret not in dom)
        browser.screenshot(out / "status-page.png")

        # The operator UI: a login form first, usable with the keyboard alone.
        browser.open(f"{base}/ui/")
        check("ui: an anonymous visit lands on the login form", browser.url().endswith("/ui/login"),
              browser.url())
        check("ui: the token field has the focus", browser.evaluate("document.activeElement.id") == "token")
        browser.screenshot(out / "login.png")
        browser.type_text(operator_token)
        browser.press("Enter", "Enter", 13)
        browser.wait_for_load()
        check("ui: Enter logs in and opens the overview", browser.url().endswith("/ui/"), browser.url())
        check("ui: the session cookie is out of scripts' reach",
              "vantage_session" not in browser.evaluate("document.cookie"))
        check("ui: the token is in no URL", operator_token not in browser.url())

        row = f'tr[data-domain="{args.domain}"]'
        check("overview: the domain's verdict", text(browser, f"{row} td .verdict") ==
              f"{args.verdict} ({args.scope})", text(browser, f"{row} td .verdict"))
        columns = browser.evaluate(
            "[...document.querySelectorAll('#overview thead th')].map(th => th.textContent)")
        for vantage in ("vp1", "vp2", "vp3", XSS_AGENT):
            check(f"overview: a column for {vantage}", vantage in columns, columns)
        cells = browser.evaluate(
            f"[...document.querySelectorAll('{row} td .verdict')].map(s => s.textContent)")
        check("overview: every lab vantage reads the failure",
              cells.count(args.verdict) >= 3, cells)
        browser.screenshot(out / "overview.png")

        browser.open(f"{base}/ui/domains/{args.domain}")
        check("domain: verdict and scope", (text(browser, "#verdict") or "").startswith(
            f"{args.verdict} ({args.scope}) since"), text(browser, "#verdict"))
        check("domain: its meaning", len(text(browser, "#meaning") or "") > 20)
        check("domain: the first evidence line is a probe's",
              "from" in (text(browser, "#evidence li") or ""), text(browser, "#evidence li"))
        check("domain: each vantage's reading", count(browser, "#vantages tbody tr") == 3)
        check("domain: the 90-day verdict bar", count(browser, "#days rect") == 90)
        check("domain: its alert", "firing" in (text(browser, "#alerts tbody") or ""))
        browser.screenshot(out / "domain.png")

        # What the hostile agent sent is shown, as text, and never runs.
        browser.open(f"{base}/ui/agents")
        check("agents: markup in a version is text",
              text(browser, f'tr[data-agent="{XSS_AGENT}"]') is not None and MARKUP_VERSION in
              text(browser, f'tr[data-agent="{XSS_AGENT}"]'))
        check("agents: none of it ran", nothing_ran(browser))
        browser.screenshot(out / "agents.png")
        browser.open(f"{base}/ui/domains/{XSS_DOMAIN}")
        check("domain: markup in evidence is text", MARKUP_EVIDENCE in (text(browser, "#vantages") or ""))
        check("domain: none of it ran", nothing_ran(browser))

        browser.open(f"{base}/ui/alerts")
        check("alerts: the firing alert", "firing" in (text(browser, "#alert-list tbody") or ""))
        check("alerts: its delivery", "delivered" in (text(browser, "#alert-list tbody") or ""))
        browser.screenshot(out / "alerts.png")

        # Log out with the keyboard: the session ends on the collector.
        browser.evaluate("document.querySelector('form[action=\"/ui/logout\"] button').focus()")
        browser.press("Enter", "Enter", 13)
        browser.wait_for_load()
        check("ui: logging out shows the login form", browser.url().endswith("/ui/login"), browser.url())
        browser.open(f"{base}/ui/")
        check("ui: after logout the pages need a login again", browser.url().endswith("/ui/login"))

    print(f"screenshots in {out}")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
