#!/usr/bin/env bash
# The deployment test, on real hosts: three fresh Debian 12 machines (systemd as PID 1, booted
# with systemd-nspawn from a debootstrapped rootfs that is cached between runs), each in a network
# namespace of its own on a bridge in the test's namespace, documentation addresses only:
#
#   vdep-net      192.0.2.1   the controller: ansible-playbook and ssh run here
#   collector     192.0.2.10  vantage_collector (TLS, with a CA the test makes)
#   agent-1       192.0.2.11  vantage_agents
#   agent-2       192.0.2.12  vantage_agents
#
# It packages the build (scripts/package), runs ansible/site.yml, asserts that the services run
# under their sandbox, the token file is root-only, the agents are known to the collector and
# their results arrive, that a second run changes nothing and a changed variable is applied by a
# reload. Nothing leaves the namespaces; the guests have no Internet (their packages'
# dependencies are baked into the cached rootfs, fetched once from the host's apt mirror).
#
#   tests/e2e/deploy/run.sh [--build-dir DIR]     as root; VANTAGE_DEPLOY_KEEP=1 keeps the temp dir
#
# Without root: "SKIPPED: …" and exit 77, or a failure under VANTAGE_REQUIRE_LAB=1 (CI).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
build_dir=$repo/build
while (($# > 0)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    *) echo "usage: tests/e2e/deploy/run.sh [--build-dir DIR]" >&2; exit 2 ;;
  esac
done

started=$(date +%s.%N)
log() { printf 'deploy: [%6.1fs] %s\n' "$(awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN{print n - s}')" "$*"; }
skip() {
  if [[ ${VANTAGE_REQUIRE_LAB:-0} == 1 ]]; then
    echo "FAILED: $1 (required: VANTAGE_REQUIRE_LAB=1)"
    exit 1
  fi
  echo "SKIPPED: $1"
  exit 77
}

[[ $(id -u) -eq 0 ]] || skip "the deploy test needs root (network namespaces, systemd-nspawn)"
for tool in debootstrap systemd-nspawn ansible-playbook ssh ssh-keygen ip openssl python3 \
  dpkg-deb flock; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/setup installs it)"
done

cache=/var/cache/vantage-deploy-test
run_dir=/run/vantage-deploy-test   # what a killed run left behind: nspawn pids, mounts
mkdir -p "$cache" "$run_dir"

# One run at a time on this machine (its namespace names and addresses are fixed). Whatever may
# outlive a killed run (the machines, ansible's ssh masters) is started without this descriptor,
# so that the next run gets the lock and cleans up after it.
exec 8>"$run_dir/lock"
flock -w 600 8 || { echo "FAILED: another deploy test holds $run_dir/lock"; exit 1; }

hosts=(collector agent-1 agent-2)
declare -A address=([collector]=192.0.2.10 [agent-1]=192.0.2.11 [agent-2]=192.0.2.12)
ctl_ns=vdep-net

# Stops every machine of a run (this one, or a killed earlier one), bounded: SIGTERM makes
# nspawn power the guest off; SIGKILL after 15 s.
stop_machines() {
  local pidfile pid i
  for pidfile in "$run_dir"/*.pid; do
    [[ -e $pidfile ]] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null && grep -q systemd-nspawn "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for pidfile in "$run_dir"/*.pid; do
    [[ -e $pidfile ]] || continue
    pid=$(cat "$pidfile")
    for ((i = 0; i < 75; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null && grep -q systemd-nspawn "/proc/$pid/cmdline" 2>/dev/null; then
      echo "deploy: machine $(basename "$pidfile" .pid) did not stop in 15 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
    rm -f "$pidfile"
  done
  local mount
  if [[ -f $run_dir/mounts ]]; then
    while read -r mount; do
      mountpoint -q "$mount" && { umount "$mount" 2>/dev/null || umount -l "$mount"; }
    done <"$run_dir/mounts"
    rm -f "$run_dir/mounts"
  fi
  local host
  for host in "${hosts[@]}"; do
    ip netns del "vdep-$host" 2>/dev/null || true
  done
  ip netns del "$ctl_ns" 2>/dev/null || true
}
stop_machines   # leftovers of a run that was killed before its trap ran
if [[ -f $run_dir/workdir ]]; then
  rm -rf "$(cat "$run_dir/workdir")"
  rm -f "$run_dir/workdir"
fi

work=$(mktemp -d /var/tmp/vantage-deploy.XXXXXX)
[[ ${VANTAGE_DEPLOY_KEEP:-0} == 1 ]] || echo "$work" >"$run_dir/workdir"
failures=0
finish() {
  local status=$?
  ((failures == 0)) || status=1
  if ((status != 0)) && [[ -f $work/key ]]; then
    log "FAILED: the services' journals, for the record"
    for host in "${hosts[@]}"; do
      echo "---- $host"
      on "$host" "journalctl -n 40 --no-pager -u $(service_of "$host")" 2>&1 | tail -40 || true
    done
  fi
  log "stopping the machines"
  stop_machines
  if [[ ${VANTAGE_DEPLOY_KEEP:-0} == 1 ]]; then
    log "kept $work"
  else
    rm -rf "$work"
    rm -f "$run_dir/workdir"
  fi
  log "done ($( ((status == 0)) && echo passed || echo FAILED))"
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM
trap 'echo "FAILED: line $LINENO: $BASH_COMMAND" >&2' ERR

ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o LogLevel=ERROR -o ConnectTimeout=3 -i "$work/key")
# Runs a shell command on a test host, as root, through the controller's namespace.
on() {
  local host=$1
  shift
  ip netns exec "$ctl_ns" timeout 60 ssh "${ssh_opts[@]}" "root@${address[$host]}" "$@"
}
service_of() { [[ $1 == collector ]] && echo vantage-collector || echo vantage-agent; }
check() {   # check DESCRIPTION EXPECTED ACTUAL
  if [[ $2 == "$3" ]]; then
    log "ok: $1"
  else
    log "NOT OK: $1: expected '$2', got '$3'"
    failures=$((failures + 1))
  fi
}

# ---- packages -----------------------------------------------------------------------------
log "packaging $build_dir (scripts/package)"
mapfile -t debs < <("$repo/scripts/package" --build-dir "$build_dir" --out "$work/debs")
((${#debs[@]} == 2)) || { echo "FAILED: scripts/package printed ${#debs[@]} paths, not 2"; exit 1; }
log "packages: $(basename "${debs[0]}") $(basename "${debs[1]}")"

# ---- the cached rootfs ----------------------------------------------------------------------
# What every host needs: systemd as PID 1, sshd, python3 + python3-apt for Ansible's apt module,
# curl for /metrics; plus the packages' runtime dependencies, because the guests have no mirror.
base_packages=(systemd-sysv dbus openssh-server python3 python3-apt sudo iproute2 curl
  ca-certificates adduser)
mapfile -t dep_packages < <(for deb in "${debs[@]}"; do dpkg-deb -f "$deb" Depends; done |
  tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' |
  grep -v '^$' | sort -u)
mirror=${VANTAGE_DEPLOY_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}';
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}') |
    grep -v -- '-security' | head -1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
cache_key=$(printf '%s\n' rootfs-v1 bookworm "${base_packages[@]}" "${dep_packages[@]}" |
  sha256sum | cut -c1-16)
rootfs=$cache/rootfs-$cache_key
exec 7>"$cache/lock"
flock -w 600 7
if [[ ! -f $rootfs/.vantage-complete ]]; then
  log "building the Debian 12 rootfs $rootfs (debootstrap from $mirror; cached for later runs)"
  rm -rf "$cache"/building-*
  staging=$cache/building-$cache_key
  includes=$(IFS=,; echo "${base_packages[*]}")
  if ! debootstrap --variant=minbase --include="$includes" bookworm "$staging" "$mirror" \
    >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log"
    echo "FAILED: debootstrap from $mirror (set VANTAGE_DEPLOY_MIRROR to a reachable mirror)"
    exit 1
  fi
  # The dependencies through apt (debootstrap resolves no virtual packages), in a plain
  # container on the host's network, so that the mirror is reachable this once.
  printf '#!/bin/sh\nexit 101\n' >"$staging/usr/sbin/policy-rc.d"
  chmod 755 "$staging/usr/sbin/policy-rc.d"
  if ! systemd-nspawn --quiet --register=no --keep-unit --directory="$staging" \
    --setenv=DEBIAN_FRONTEND=noninteractive sh -c "apt-get update -qq &&
      apt-get install -y -qq --no-install-recommends ${dep_packages[*]}" \
    >>"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log"
    echo "FAILED: installing the packages' dependencies (${dep_packages[*]}) into the rootfs"
    exit 1
  fi
  rm -f "$staging/usr/sbin/policy-rc.d"
  # Each boot gets its own machine id; apt must not wait on a mirror the guests cannot reach.
  : >"$staging/etc/machine-id"
  rm -f "$staging/var/lib/dbus/machine-id"
  rm -rf "$staging"/var/cache/apt/archives/*.deb "$staging"/var/lib/apt/lists/*_Packages
  touch "$staging/.vantage-complete"
  # Older rootfs versions (other dependency lists) go: one cached tree is enough.
  find "$cache" -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$cache_key" -exec rm -rf {} +
  mv "$staging" "$rootfs"
  log "rootfs ready ($(du -sh "$rootfs" | cut -f1))"
else
  log "rootfs from the cache: $rootfs"
fi
flock -u 7

# ---- network ------------------------------------------------------------------------------
log "network: $ctl_ns 192.0.2.1/24 with a bridge; a namespace per host"
ip netns add "$ctl_ns"
ip -n "$ctl_ns" link set lo up
ip -n "$ctl_ns" link add br0 type bridge
ip -n "$ctl_ns" addr add 192.0.2.1/24 dev br0
ip -n "$ctl_ns" link set br0 up
for host in "${hosts[@]}"; do
  ns=vdep-$host
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ctl_ns" link add "v-$host" type veth peer name eth0 netns "$ns"
  ip -n "$ctl_ns" link set "v-$host" master br0 up
  ip -n "$ns" addr add "${address[$host]}/24" dev eth0
  ip -n "$ns" link set eth0 up
done

# ---- machines -----------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C vantage-deploy-test -f "$work/key"
for host in "${hosts[@]}"; do
  dir=$work/hosts/$host
  mkdir -p "$dir/upper" "$dir/work" "$dir/root"
  # An overlay on the cached tree: a fresh host in milliseconds, the cache never written.
  if mount -t overlay overlay \
    -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/work" "$dir/root" 2>/dev/null; then
    echo "$dir/root" >>"$run_dir/mounts"
  else
    cp -a --reflink=auto "$rootfs/." "$dir/root/"
  fi
  root=$dir/root
  echo "$host" >"$root/etc/hostname"
  {
    echo "127.0.0.1 localhost"
    echo "127.0.1.1 $host"
    for other in "${hosts[@]}"; do echo "${address[$other]} $other"; done
  } >"$root/etc/hosts"
  rm -f "$root/etc/resolv.conf"
  echo "nameserver 192.0.2.1" >"$root/etc/resolv.conf"   # nothing answers: no Internet here
  install -d -m 0700 "$root/root/.ssh"
  install -m 0600 "$work/key.pub" "$root/root/.ssh/authorized_keys"
  # Without host systemd/D-Bus: --register=no --keep-unit. The namespace is ready before boot.
  setsid systemd-nspawn --boot --register=no --keep-unit --machine="vdep-$host" \
    --directory="$root" --network-namespace-path="/run/netns/vdep-$host" \
    --capability=CAP_NET_ADMIN --resolv-conf=off --link-journal=no --console=read-only \
    </dev/null >"$work/$host.console.log" 2>&1 8>&- &
  echo $! >"$run_dir/$host.pid"
done
deadline=$((SECONDS + 60))
for host in "${hosts[@]}"; do
  until on "$host" true 2>/dev/null; do
    if ((SECONDS >= deadline)) || ! kill -0 "$(cat "$run_dir/$host.pid")" 2>/dev/null; then
      tail -30 "$work/$host.console.log"
      echo "FAILED: $host did not answer ssh within 60 s of boot"
      exit 1
    fi
    sleep 0.5
  done
done
log "machines up: ${hosts[*]} (PID 1: $(on collector 'ps -p 1 -o comm=; systemctl --version | head -1 | cut -d" " -f2' | tr '\n' ' '))"
check "collector: PID 1 is systemd" systemd "$(on collector 'ps -p 1 -o comm=')"

# ---- TLS material and inventory -----------------------------------------------------------
tls=$work/tls
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=Vantage deploy test CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=collector" \
  -keyout "$tls/collector.key" -out "$tls/collector.csr" 2>/dev/null
openssl x509 -req -in "$tls/collector.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
  -CAcreateserial -days 2 -out "$tls/collector.crt" \
  -extfile <(printf 'subjectAltName=DNS:collector,IP:192.0.2.10,IP:127.0.0.1\n') 2>/dev/null

inventory=$work/inventory.ini
cat >"$inventory" <<EOF
[vantage_collector]
collector ansible_host=192.0.2.10 vantage_collector_tls_cert_src=$tls/collector.crt vantage_collector_tls_key_src=$tls/collector.key vantage_collector_tls_ca_src=$tls/ca.pem

[vantage_agents]
agent-1 ansible_host=192.0.2.11 vantage_agent_asn=64510
agent-2 ansible_host=192.0.2.12 vantage_agent_asn=64511

[vantage_agents:vars]
vantage_agent_targets=[{"domain": "deploy.example", "port": 443}]
vantage_agent_control_targets=["192.0.2.10:8470"]
vantage_agent_dns_resolvers=["192.0.2.1:53"]
vantage_agent_probe_interval=3s
vantage_agent_probe_timeout=1s

[all:vars]
ansible_user=root
vantage_deb_dir=$work/debs
EOF

playbook() {   # playbook LOG [ansible-playbook arguments...]
  local out=$1
  shift
  ip netns exec "$ctl_ns" env \
    ANSIBLE_CONFIG="$repo/ansible/ansible.cfg" ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PRIVATE_KEY_FILE="$work/key" \
    ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=30s -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR" \
    ANSIBLE_SSH_CONTROL_PATH_DIR="$work/cp" ANSIBLE_LOCAL_TEMP="$work/ansible-tmp" \
    ANSIBLE_PIPELINING=True ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=False \
    ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_TIMEOUT=20 \
    timeout 400 ansible-playbook -i "$inventory" "$repo/ansible/site.yml" "$@" >"$out" 2>&1 8>&-
}
recap() {   # the PLAY RECAP lines of a log: "host ok=N changed=N ..."
  sed -n '/^PLAY RECAP/,$p' "$1" | grep -E '^[a-z0-9-]+ +: ok='
}

# ---- first run ----------------------------------------------------------------------------
log "ansible-playbook site.yml (first run, -v)"
t0=$(date +%s)
if ! playbook "$work/play1.log" -v; then
  tail -60 "$work/play1.log"
  echo "FAILED: the first run of site.yml failed"
  exit 1
fi
log "first run took $(($(date +%s) - t0)) s:"
recap "$work/play1.log" | sed 's/^/deploy:     /'
# -v prints every task's result: a token there would mean a task without no_log.
check "no token in the playbook's output (no_log)" 0 "$(grep -c 'vat_' "$work/play1.log" || true)"

# ---- assertions ---------------------------------------------------------------------------
sandbox_props=User,Group,ProtectSystem,ProtectHome,PrivateTmp,PrivateDevices,PrivateUsers,NoNewPrivileges,CapabilityBoundingSet,StateDirectory
for host in "${hosts[@]}"; do
  service=$(service_of "$host")
  check "$host: $service is active" active "$(on "$host" "systemctl is-active $service" || true)"
  check "$host: $service is enabled" enabled "$(on "$host" "systemctl is-enabled $service" || true)"
  props=$(on "$host" "systemctl show -p $sandbox_props $service" | sort | tr '\n' ' ')
  check "$host: $service unit sandbox" \
    "CapabilityBoundingSet= Group=vantage NoNewPrivileges=yes PrivateDevices=yes PrivateTmp=yes PrivateUsers=yes ProtectHome=yes ProtectSystem=strict StateDirectory=$service User=vantage " \
    "$props"
  check "$host: $service address families" "AF_INET AF_INET6 AF_UNIX" \
    "$(on "$host" "systemctl show -p RestrictAddressFamilies --value $service" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
  # The running process itself: the unit's user, no capabilities, no_new_privs, seccomp on, and
  # a read-only /usr from ProtectSystem=strict.
  proc=$(on "$host" "pid=\$(systemctl show -p MainPID --value $service);
    echo \$(stat -c %U /proc/\$pid) \$(awk '/^CapEff|^NoNewPrivs|^Seccomp:/{print \$2}' /proc/\$pid/status | tr '\n' ' ')
    nsenter -t \$pid -m sh -c 'touch /usr/vantage-probe 2>/dev/null && echo /usr-writable || echo /usr-read-only'" | tr '\n' ' ')
  check "$host: $service process (user CapEff NoNewPrivs Seccomp, /usr)" \
    "vantage 0000000000000000 1 2 /usr-read-only " "$proc"
done
for host in agent-1 agent-2; do
  check "$host: the token reaches the service as a credential (LoadCredential=)" agent.token \
    "$(on "$host" 'ls /run/credentials/vantage-agent.service/')"
  check "$host: /etc/vantage/agent.token mode and owner" "600 root:root" \
    "$(on "$host" 'stat -c "%a %U:%G" /etc/vantage/agent.token')"
  check "$host: /etc/vantage and agent.yaml" "750 root:vantage 640 root:vantage" \
    "$(on "$host" 'stat -c "%a %U:%G" /etc/vantage /etc/vantage/agent.yaml' | tr '\n' ' ' | sed 's/ $//')"
  check "$host: the collector's CA installed" "$(sha256sum <"$tls/ca.pem" | cut -d' ' -f1)" \
    "$(on "$host" 'sha256sum < /etc/vantage/ca.pem' | cut -d' ' -f1)"
  check "$host: agent.yaml names the host and the credential" \
    "name: \"$host\" token_file: /run/credentials/vantage-agent.service/agent.token" \
    "$(on "$host" 'grep -E "^  (name|token_file):" /etc/vantage/agent.yaml' | sed 's/^ *//' | tr '\n' ' ' | sed 's/ $//')"
done
check "collector: TLS key mode and owner" "640 root:vantage" \
  "$(on collector 'stat -c "%a %U:%G" /etc/vantage/tls.key')"

# The collector's view, as an operator sees it: an operator token made on the collector host;
# it never leaves that host (the remote shell reads it into VANTAGE_TOKEN).
on collector 'umask 077; runuser -u vantage -- vantage-collector token create deploy-test --operator --config /etc/vantage/collector.yaml > /root/operator.token 2>/dev/null'
cli() { on collector "VANTAGE_TOKEN=\$(cat /root/operator.token) vantage-collector $* --url https://192.0.2.10:8470 --ca /etc/vantage/ca.pem"; }
log "waiting for both agents' heartbeats and results (at most 60 s)"
deadline=$((SECONDS + 60))
while true; do
  agents_json=$(cli agents --json 2>/dev/null || echo '[]')
  stored=$(on collector "curl -sf --cacert /etc/vantage/ca.pem https://192.0.2.10:8470/metrics" 2>/dev/null |
    awk '/^vantage_ingest_results_total\{outcome="stored"\}/{print int($2)}' || true)
  seen=$(python3 -c '
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc)
names = []
for agent in json.loads(sys.argv[1]):
    seen = datetime.datetime.fromisoformat(agent["last_seen"].replace("Z", "+00:00"))
    if (now - seen).total_seconds() < 30:
        names.append(agent["name"])
print(" ".join(sorted(names)))' "$agents_json" || true)
  if [[ $seen == "agent-1 agent-2" ]] && ((${stored:-0} >= 2)); then break; fi
  if ((SECONDS >= deadline)); then break; fi
  sleep 1
done
log "agents --json: $agents_json"
check "the collector lists both agents, seen within 30 s" "agent-1 agent-2" "$seen"
check "results stored by the collector (vantage_ingest_results_total{outcome=\"stored\"} >= 2)" \
  yes "$( ((${stored:-0} >= 2)) && echo yes || echo "no (${stored:-none})")"
reporting=$(cli status --json 2>/dev/null | python3 -c '
import json, sys
print(" ".join(str(d.get("reporting")) for d in json.load(sys.stdin) if d.get("domain") == "deploy.example"))' || true)
check "status: deploy.example has readings from both agents (reporting)" 2 "${reporting:-absent}"

# ---- second run: nothing to change --------------------------------------------------------
tokens_before=$(for host in agent-1 agent-2; do on "$host" 'sha256sum < /etc/vantage/agent.token'; done)
main_pids() { for host in "$@"; do on "$host" "systemctl show -p MainPID --value $(service_of "$host")"; done | tr '\n' ' ' | sed 's/ $//'; }
pids_before=$(main_pids "${hosts[@]}")
log "ansible-playbook site.yml (second run)"
t0=$(date +%s)
playbook "$work/play2.log" || { tail -40 "$work/play2.log"; echo "FAILED: the second run failed"; exit 1; }
log "second run took $(($(date +%s) - t0)) s:"
recap "$work/play2.log" | sed 's/^/deploy:     /'
check "second run: every host changed=0 failed=0" "3 hosts unchanged" \
  "$(recap "$work/play2.log" | grep -cE 'changed=0 +unreachable=0 +failed=0' | sed 's/$/ hosts unchanged/')"
grep -E '^(changed|TASK)' "$work/play2.log" | grep -B1 '^changed' | sed 's/^/deploy:     /' || true
check "second run: tokens kept" "$tokens_before" \
  "$(for host in agent-1 agent-2; do on "$host" 'sha256sum < /etc/vantage/agent.token'; done)"
check "second run: no service restarted" "$pids_before" \
  "$(main_pids "${hosts[@]}")"

# ---- a changed variable: agent.yaml rewritten, the agent reloaded (not restarted) ----------
log "ansible-playbook site.yml -e vantage_agent_probe_interval=4s (third run)"
t0=$(date +%s)
playbook "$work/play3.log" -e vantage_agent_probe_interval=4s --limit vantage_agents ||
  { tail -40 "$work/play3.log"; echo "FAILED: the third run failed"; exit 1; }
log "third run took $(($(date +%s) - t0)) s"
check "third run: agent.yaml changed and the reload handler ran on both agents" 2 \
  "$(grep -A2 '^RUNNING HANDLER \[vantage_agent : Reload vantage-agent\]' "$work/play3.log" | grep -c '^changed:')"
for host in agent-1 agent-2; do
  check "$host: interval 4s in agent.yaml" "interval: \"4s\"" \
    "$(on "$host" 'grep -o "interval: .*" /etc/vantage/agent.yaml')"
  check "$host: still active after the reload" active "$(on "$host" 'systemctl is-active vantage-agent' || true)"
done
check "third run: the agents kept their process (reloaded, not restarted)" \
  "$(echo "$pids_before" | cut -d' ' -f2-3)" "$(main_pids agent-1 agent-2)"

# ---- a raised token generation: each agent's token rotated, the old one kept for the grace ----
token_hashes() { for host in agent-1 agent-2; do on "$host" 'sha256sum < /etc/vantage/agent.token'; done; }
tokens_before=$(token_hashes)
log "ansible-playbook site.yml -e vantage_agent_token_generation=2 (fourth run)"
t0=$(date +%s)
playbook "$work/play4.log" -e vantage_agent_token_generation=2 --limit vantage_agents ||
  { tail -40 "$work/play4.log"; echo "FAILED: the fourth run failed"; exit 1; }
log "fourth run took $(($(date +%s) - t0)) s"
check "no token in the fourth run's output (no_log)" 0 "$(grep -c 'vat_' "$work/play4.log" || true)"
tokens_after=$(token_hashes)
check "fourth run: both agents have a new token" "0 kept" \
  "$(comm -12 <(sort <<<"$tokens_before") <(sort <<<"$tokens_after") | wc -l | sed 's/$/ kept/')"
for host in agent-1 agent-2; do
  check "$host: generation 2 recorded beside the token" 2 "$(on "$host" 'cat /etc/vantage/agent.token.generation')"
done
token_list() { on collector 'runuser -u vantage -- vantage-collector token list --json --config /etc/vantage/collector.yaml'; }
log "waiting until both agents upload with their new tokens (at most 60 s)"
deadline=$((SECONDS + 60))
while true; do
  rotated=$(token_list 2>/dev/null | python3 -c '
import json, sys
tokens = json.load(sys.stdin)["tokens"]
ready = []
for name in ("agent-1", "agent-2"):
    mine = [t for t in tokens if t["name"] == name]
    old = [t for t in mine if t["expires_at"] and t["accepted"]]
    new = [t for t in mine if not t["expires_at"] and t["last_used_at"]]
    if len(mine) == 2 and len(old) == 1 and len(new) == 1:
        ready.append(name)
print(" ".join(ready))' || true)
  if [[ $rotated == "agent-1 agent-2" ]] || ((SECONDS >= deadline)); then break; fi
  sleep 1
done
log "token list --json: $(token_list 2>/dev/null | tr -d '\n ' | head -c 600)"
check "token list: each agent's old token accepted until its grace ends, the new one in use" \
  "agent-1 agent-2" "$rotated"

log "ansible-playbook site.yml -e vantage_agent_token_generation=2 (fifth run, the same generation)"
playbook "$work/play5.log" -e vantage_agent_token_generation=2 --limit vantage_agents ||
  { tail -40 "$work/play5.log"; echo "FAILED: the fifth run failed"; exit 1; }
check "fifth run: the same generation changes nothing" "2 hosts unchanged" \
  "$(recap "$work/play5.log" | grep -cE 'changed=0 +unreachable=0 +failed=0' | sed 's/$/ hosts unchanged/')"
check "fifth run: tokens kept" "$tokens_after" "$(token_hashes)"

((failures == 0)) || { echo "FAILED: $failures assertion(s)"; exit 1; }
log "PASSED"
