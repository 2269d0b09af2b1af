#!/usr/bin/env bash
# The README's quickstart, as far as it runs without the Internet: the example configs copied into
# a fresh directory, tokens created readable by their owner only, both configs accepted by
# check-config, the collector served from there and answering the CLI. The agent is not started:
# its example targets are public sites, and tests send nothing off this machine.
# Usage: check_quickstart.sh SOURCE_DIR COLLECTOR_BIN AGENT_BIN
set -euo pipefail
source_dir=$1 collector=$2 agent=$3
work=$(mktemp -d)
collector_pid=
cleanup() {
  [[ -n $collector_pid ]] && kill "$collector_pid" 2>/dev/null && wait "$collector_pid" || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "quickstart: $*" >&2; exit 1; }

cp "$source_dir/docs/examples/collector.yaml" "$source_dir/docs/examples/agent.yaml" "$work/"
cd "$work"
# The README's port is 8470; a test takes a free one so that it can run beside anything.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s/127.0.0.1:8470/127.0.0.1:$port/" collector.yaml agent.yaml

umask 077
"$collector" token create vp-1 --config collector.yaml >agent.token 2>/dev/null
"$collector" token create alice --operator --config collector.yaml >operator.token 2>/dev/null
for token in agent.token operator.token; do
  mode=$(stat -c %a "$token")
  [[ $mode == 600 ]] || fail "$token has mode $mode, not 600"
  [[ $(wc -c <"$token") -gt 20 ]] || fail "$token holds no token"
done
"$agent" check-config --config agent.yaml || fail "agent.yaml refused"
"$collector" check-config --config collector.yaml || fail "collector.yaml refused"

"$collector" serve --config collector.yaml 2>collector.log &
collector_pid=$!
export VANTAGE_TOKEN=$(cat operator.token)
url="http://127.0.0.1:$port"
for _ in $(seq 1 50); do
  "$collector" status --url "$url" >status.txt 2>/dev/null && break
  sleep 0.1
done
grep -q "no domains yet" status.txt || fail "status did not answer: $(cat status.txt collector.log)"
"$collector" targets add example.org --url "$url" | grep -q "added example.org" ||
  fail "targets add failed"
"$collector" targets list --url "$url" | grep -q "^example.org" || fail "targets list lacks it"
echo "quickstart: tokens 0600, both configs accepted, collector served and answered the CLI"
