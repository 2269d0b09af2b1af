#!/usr/bin/env bash
# The Debian packages and their systemd units, checked for real:
#  1. scripts/package builds both .debs from the build directory;
#  2. control data (Depends from dpkg-shlibdeps, conffiles, maintainer scripts), file list and
#     modes, stripped binaries, the sample configs accepted by check-config;
#  3. the units: systemd-analyze verify (offline) and systemd-analyze security --offline, whose
#     exposure must stay at or below EXPOSURE_MAX;
#  4. as root: a throwaway systemd — PID 1 of private pid/mount/net/cgroup namespaces, with /etc,
#     /usr and /var as overlays on a tmpfs, so the host is never touched — installs both packages
#     with dpkg, runs collector and agent under their units' full sandbox (with denied system calls
#     made fatal), over TLS, and checks results arrive, reload, upgrade and purge.
# Without root step 4 is skipped and the test reports a skip (exit 77); VANTAGE_REQUIRE_LAB=1
# turns that skip into a failure.
#
#   check_packages.sh BUILD_DIR VERSION
set -uo pipefail

readonly EXPOSURE_MAX=1.5
source_dir=$(cd "$(dirname "$0")/../../.." && pwd)
build_dir=${1:?usage: check_packages.sh BUILD_DIR VERSION}
version=${2:?usage: check_packages.sh BUILD_DIR VERSION}

failures=0
pass() { echo "ok   $*"; }
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}
quietly() { "$@" >/dev/null; }
check() { # description command...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/vantage-packaging.XXXXXX")
ns_pid=
cgroup_dir=
operator_token=
cleanup() {
  if [[ -n $ns_pid ]]; then
    kill -9 "$ns_pid" 2>/dev/null # PID 1 of the namespace: everything in it dies with it
    for _ in $(seq 50); do kill -0 "$ns_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  local _
  for _ in $(seq 50); do # the namespace's cgroups empty as its processes are reaped
    [[ -n $cgroup_dir && -d $cgroup_dir ]] || break
    find "$cgroup_dir" -depth -type d -exec rmdir {} \; 2>/dev/null
    sleep 0.1
  done
  rm -rf "$work"
}
trap cleanup EXIT

# --- 1. build ------------------------------------------------------------------------------------
if ! "$source_dir/scripts/package" --build-dir "$build_dir" --out "$work/out" >"$work/deb-paths" \
  2>"$work/package.log"; then
  cat "$work/package.log"
  echo "FAIL scripts/package"
  exit 1
fi
mapfile -t debs <"$work/deb-paths"
arch=$(dpkg --print-architecture)
agent_deb=$work/out/vantage-agent_${version}_${arch}.deb
collector_deb=$work/out/vantage-collector_${version}_${arch}.deb
check "scripts/package prints exactly the two .deb paths" \
  test "${debs[*]}" = "$agent_deb $collector_deb"
for deb in "$agent_deb" "$collector_deb"; do
  [[ -f $deb ]] || {
    echo "FAIL $deb missing"
    exit 1
  }
done

# --- 2. control data and contents ----------------------------------------------------------------
field() { dpkg-deb -f "$1" "$2"; }
stripped() { file "$1" | grep -q ', stripped'; }
depends_has() { # deb package-regex
  field "$1" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qxE "$2"
}
control_file() { dpkg-deb --ctrl-tarfile "$1" | tar -xOf - "./$2" 2>/dev/null; }
depends_clean() { ! field "$1" Depends | grep -qE -- '-dev\b|libasan|libubsan'; }
maintainer_script_ok() { # deb script
  dpkg-deb --ctrl-tarfile "$1" | tar -tvf - "./$2" | grep -q '^-rwxr-xr-x' &&
    control_file "$1" "$2" | sh -n
}

check_package() { # deb package config depends-regex...
  local deb=$1 package=$2 config=$3
  shift 3
  check "$package: Package, Version, Architecture" test \
    "$(field "$deb" Package) $(field "$deb" Version) $(field "$deb" Architecture)" = \
    "$package $version $arch"
  local dep
  for dep in adduser libc6 "$@"; do
    check "$package: Depends on $dep" depends_has "$deb" "$dep"
  done
  check "$package: no -dev package or sanitizer runtime in Depends ($(field "$deb" Depends))" \
    depends_clean "$deb"
  check "$package: conffiles is exactly /etc/vantage/$config" \
    test "$(control_file "$deb" conffiles)" = "/etc/vantage/$config"
  local script
  for script in postinst prerm postrm; do
    check "$package: $script is executable, valid sh" maintainer_script_ok "$deb" "$script"
  done
  # Files (not directories), with mode and owner, exactly these.
  local expected actual
  expected=$(printf '%s\n' \
    "-rw-r----- root/root ./etc/vantage/$config" \
    "-rw-r--r-- root/root ./lib/systemd/system/$package.service" \
    "-rwxr-xr-x root/root ./usr/bin/$package")
  if [[ $package == vantage-collector ]]; then # the Prometheus rules and the Grafana dashboard
    expected=$(printf '%s\n' "$expected" \
      "-rw-r--r-- root/root ./usr/share/vantage-collector/grafana/vantage-dashboard.json" \
      "-rw-r--r-- root/root ./usr/share/vantage-collector/prometheus/vantage-rules.yml" | sort)
  fi
  actual=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $1, $2, $6}' | sort)
  check "$package: files are exactly $(echo "$expected" | awk '{print $3}' | tr '\n' ' ')" \
    test "$actual" = "$expected"
  mkdir -p "$work/root"
  dpkg-deb -x "$deb" "$work/root"
  check "$package: binary stripped" stripped "$work/root/usr/bin/$package"
  check "$package: binary runs (--version is $version)" \
    test "$("$work/root/usr/bin/$package" --version 2>&1)" = "$version"
}

check_package "$agent_deb" vantage-agent agent.yaml \
  'libc-ares2' 'libcurl4' 'libssl3' 'libyaml-cpp0\.[0-9]+' 'libspdlog1(\.[0-9]+)?(-fmt[0-9]+)?' \
  'libfmt[0-9]+' 'libstdc\+\+6'
check_package "$collector_deb" vantage-collector collector.yaml \
  'libcurl4' 'libssl3' 'libmicrohttpd12' 'libpq5' 'libsqlite3-0' 'libmaxminddb0' 'zlib1g' 'libjemalloc2' \
  'libyaml-cpp0\.[0-9]+' 'libspdlog1(\.[0-9]+)?(-fmt[0-9]+)?' 'libfmt[0-9]+' 'libstdc\+\+6'

# The samples are valid configs, given what the host provides at run time.
root=$work/root
touch "$work/agent.token"
sed "s|/run/credentials/vantage-agent.service/agent.token|$work/agent.token|" \
  "$root/etc/vantage/agent.yaml" >"$work/agent.yaml"
check "sample agent.yaml passes check-config (token at its credential path)" \
  quietly "$root/usr/bin/vantage-agent" check-config --config "$work/agent.yaml"
sed "s|/var/lib/vantage-collector/|$work/|" "$root/etc/vantage/collector.yaml" >"$work/collector.yaml"
check "sample collector.yaml passes check-config" \
  quietly "$root/usr/bin/vantage-collector" check-config --config "$work/collector.yaml"
sample_collector_defaults() {
  grep -qE '^listen: "127\.0\.0\.1:8470"( |$)' "$root/etc/vantage/collector.yaml" &&
    grep -qE '^  sqlite: /var/lib/vantage-collector/collector\.db( |$)' \
      "$root/etc/vantage/collector.yaml"
}
check "sample collector.yaml: listen on loopback 127.0.0.1:8470, sqlite in the StateDirectory" \
  sample_collector_defaults

# --- 3. the units --------------------------------------------------------------------------------
agent_unit=$root/lib/systemd/system/vantage-agent.service
collector_unit=$root/lib/systemd/system/vantage-collector.service
unit_has() { grep -qxF "$2" "$1"; }
# shellcheck disable=SC2016 # $MAINPID is systemd's, not ours
for line in 'Type=simple' 'User=vantage' 'Group=vantage' 'Restart=on-failure' 'RestartSec=2s' \
  'ExecStart=/usr/bin/vantage-agent run --config /etc/vantage/agent.yaml' \
  'ExecReload=/bin/kill -HUP $MAINPID' 'StateDirectory=vantage-agent' \
  'LoadCredential=agent.token:/etc/vantage/agent.token' 'CapabilityBoundingSet=' \
  'ProtectSystem=strict' 'NoNewPrivileges=yes' 'PrivateTmp=yes' 'UMask=0077' \
  'SystemCallFilter=@system-service' 'SystemCallFilter=~@privileged @resources' \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'WantedBy=multi-user.target'; do
  check "vantage-agent.service: $line" unit_has "$agent_unit" "$line"
done
check "agent.yaml reads the token where LoadCredential puts it" \
  grep -qE '^  token_file: /run/credentials/vantage-agent.service/agent.token$' \
  "$root/etc/vantage/agent.yaml"
for line in 'Type=simple' 'User=vantage' 'Group=vantage' 'Restart=on-failure' 'RestartSec=2s' \
  'ExecStart=/usr/bin/vantage-collector serve --config /etc/vantage/collector.yaml' \
  'StateDirectory=vantage-collector' 'CapabilityBoundingSet=' 'ProtectSystem=strict' \
  'NoNewPrivileges=yes' 'PrivateTmp=yes' 'UMask=0077' 'SystemCallFilter=@system-service' \
  'SystemCallFilter=~@privileged @resources' 'WantedBy=multi-user.target'; do
  check "vantage-collector.service: $line" unit_has "$collector_unit" "$line"
done

if ! command -v systemd-analyze >/dev/null; then
  echo "note: systemd-analyze not installed: unit verification and security scores not checked"
else
  for unit in "$agent_unit" "$collector_unit"; do
    name=$(basename "$unit")
    # verify wants the ExecStart binary to exist: point it at the extracted one. It exits 0 even
    # for unknown keys, so any output at all is a failure.
    mkdir -p "$work/verify"
    sed "s|/usr/bin/|$root/usr/bin/|" "$unit" >"$work/verify/$name"
    out=$(systemd-analyze verify "$work/verify/$name" 2>&1)
    check "systemd-analyze verify $name: clean${out:+ ($out)}" test -z "$out"
    if out=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1); then
      exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
      check "systemd-analyze security $name: exposure ${exposure:-?} <= $EXPOSURE_MAX" \
        awk -v e="${exposure:-99}" -v max="$EXPOSURE_MAX" 'BEGIN { exit !(e <= max) }'
    else
      echo "note: systemd-analyze security --offline=yes does not work here: $out"
    fi
  done
fi

# --- 4. a throwaway systemd runs both packages ---------------------------------------------------
boot_skip=
if [[ $(id -u) -ne 0 ]]; then
  boot_skip="needs root (namespaces, overlay mounts)"
elif ! command -v unshare >/dev/null || ! command -v nsenter >/dev/null ||
  [[ ! -x /lib/systemd/systemd ]] || ! grep -qw overlay /proc/filesystems; then
  boot_skip="needs unshare, nsenter, /lib/systemd/systemd and overlayfs"
fi

# The namespace gets a cgroup subtree of its own below this process's cgroup (cgroup v2), so its
# systemd sees and manages only that.
cgroup2_mount=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
if [[ -z $boot_skip && -z $cgroup2_mount ]]; then
  boot_skip="needs a cgroup2 mount"
fi

ns() { nsenter -t "$ns_pid" -m -p -n -u -i -C -- "$@"; }
system_running() { ns systemctl is-system-running | grep -qE 'running|degraded'; }
vantage_user_ok() { ns getent passwd vantage | grep -q ':/nonexistent:/usr/sbin/nologin$'; }
collector_cli() { # subcommand...
  ns env "VANTAGE_TOKEN=$operator_token" vantage-collector "$@" --json \
    --url https://127.0.0.1:8470 --ca /etc/vantage/ca.pem
}
agent_listed() { collector_cli agents | grep -q '"name": "vp-test"'; }
results_arrived() { collector_cli status | grep -q '"social.example"'; }
agent_reloaded() {
  ns journalctl -u vantage-agent --no-pager | grep -q 'reloaded /etc/vantage/agent.yaml'
}
both_active() {
  test "$(ns systemctl is-active vantage-collector vantage-agent | sort -u)" = active
}
sandboxed() { # unit
  local pid status
  pid=$(ns systemctl show -p MainPID --value "$1")
  status=$(ns cat "/proc/$pid/status") || return 1
  grep -qE "^Uid:\s+$(ns id -u vantage)\s" <<<"$status" &&
    grep -qE '^CapEff:\s+0+$' <<<"$status" && grep -qE '^CapBnd:\s+0+$' <<<"$status" &&
    grep -qE '^NoNewPrivs:\s+1$' <<<"$status" && grep -qE '^Seccomp:\s+2$' <<<"$status"
}
agent_purged() {
  ! ns test -e /etc/vantage/agent.yaml && ! ns test -e /var/lib/vantage-agent &&
    ! ns test -e /etc/systemd/system/multi-user.target.wants/vantage-agent.service &&
    ! ns pgrep -x vantage-agent >/dev/null
}

wait_for() { # seconds description command...
  local seconds=$1 what=$2
  shift 2
  local i
  for ((i = 0; i < seconds * 5; i++)); do
    if "$@" >/dev/null 2>&1; then
      pass "$what"
      return 0
    fi
    sleep 0.2
  done
  fail "$what (waited ${seconds}s)"
  return 1
}

boot_test() {
  mkdir -p "$work/debs"
  cp "$agent_deb" "$collector_deb" "$work/debs/"
  cat >"$work/inner.sh" <<'EOF'
#!/bin/bash
# PID 1 of fresh namespaces: make every mount private to them, overlay /etc /usr /var on a tmpfs,
# install the packages there, then become systemd.
set -euo pipefail
debs=$1
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/overlay /run/debs
cp "$debs"/*.deb /run/debs/
for dir in etc usr var; do
  mkdir -p "/run/overlay/$dir-upper" "/run/overlay/$dir-work"
  mount -t overlay overlay \
    -o "lowerdir=/$dir,upperdir=/run/overlay/$dir-upper,workdir=/run/overlay/$dir-work" "/$dir"
done
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# systemd expects shared propagation on / (credentials, PrivateTmp): new peer groups, private
# to these namespaces.
mount --make-rshared /
ip link set lo up
dpkg -i /run/debs/*.deb >/run/dpkg.log 2>&1
cat >/etc/systemd/system/vantage-test.target <<'UNIT'
[Unit]
Description=packaging test: journald only; the test starts the services itself
Wants=systemd-journald.socket systemd-journald.service
UNIT
exec env container=vantage-packaging-test /lib/systemd/systemd --system \
  --unit=vantage-test.target --log-target=console --log-level=warning
EOF
  chmod +x "$work/inner.sh"

  cgroup_dir=$cgroup2_mount$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)/vantage-packaging.$$
  cgroup_dir=${cgroup_dir//\/\//\/}
  if ! mkdir "$cgroup_dir"; then
    fail "cannot create cgroup $cgroup_dir"
    return
  fi
  # The subshell moves itself into the new cgroup, then execs the namespace's PID 1 there.
  (
    echo "$BASHPID" >"$cgroup_dir/cgroup.procs" &&
      exec unshare --pid --mount --net --uts --ipc --cgroup --fork --kill-child --mount-proc \
        "$work/inner.sh" "$work/debs"
  ) >"$work/console.log" 2>&1 &
  local unshare_pid=$!
  for _ in $(seq 100); do
    ns_pid=$(pgrep -P "$unshare_pid" | head -1)
    [[ -n $ns_pid ]] && [[ $(cat "/proc/$ns_pid/comm" 2>/dev/null) == systemd ]] && break
    ns_pid=
    kill -0 "$unshare_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $ns_pid ]]; then
    fail "systemd did not start in the namespaces"
    cat "$work/console.log"
    return
  fi
  if ! wait_for 30 "systemd is up (PID 1 of the test namespaces)" system_running; then
    cat "$work/console.log"
    return
  fi

  # postinst's work
  check "postinst: system user vantage, no login" vantage_user_ok
  check "postinst: /etc/vantage root:vantage 0750" \
    test "$(ns stat -c '%U:%G %a' /etc/vantage)" = "root:vantage 750"
  check "postinst: agent.yaml, collector.yaml root:vantage 0640" \
    test "$(ns stat -c '%U:%G %a' /etc/vantage/agent.yaml /etc/vantage/collector.yaml | sort -u)" = \
    "root:vantage 640"
  check "postinst: /var/lib/vantage-collector exists, vantage 0700 (token create before start)" \
    test "$(ns stat -c '%U:%G %a' /var/lib/vantage-collector)" = "vantage:vantage 700"
  check "nothing started or enabled by a first install" \
    test "$(ns systemctl is-enabled vantage-agent vantage-collector | sort -u)" = "disabled"

  # What an operator (or the Ansible roles) does: tokens, TLS, the agent's name and collector.
  ns runuser -u vantage -- vantage-collector token create vp-test \
    --config /etc/vantage/collector.yaml 2>/dev/null >"$work/agent.token"
  ns runuser -u vantage -- vantage-collector token create operator --operator \
    --config /etc/vantage/collector.yaml 2>/dev/null >"$work/operator.token"
  check "token create as vantage (runuser) before the first start" test -s "$work/agent.token"
  ns sh -c 'umask 077; cat >/etc/vantage/agent.token' <"$work/agent.token"
  (
    cd "$work" &&
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -out ca.pem -days 2 -subj /CN=vantage-test-ca &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key \
        -out tls.csr -subj /CN=collector &&
      echo 'subjectAltName=IP:127.0.0.1' >ext &&
      openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tls.crt \
        -days 2 -extfile ext
  ) >/dev/null 2>&1 || fail "openssl: test certificates"
  local file
  for file in ca.pem tls.crt tls.key; do
    ns sh -c "cat >/etc/vantage/$file && chown root:vantage /etc/vantage/$file &&
      chmod 0640 /etc/vantage/$file" <"$work/$file"
  done
  ns sed -i 's|^# tls: .*|tls: { cert: /etc/vantage/tls.crt, key: /etc/vantage/tls.key }|' \
    /etc/vantage/collector.yaml
  ns sed -i -e 's|name: vp-example|name: vp-test|' \
    -e 's|https://collector.example:8470|https://127.0.0.1:8470|' \
    -e 's|^  # ca_file: /etc/vantage/ca.pem.*|  ca_file: /etc/vantage/ca.pem|' \
    -e 's|^# control_targets:.*|control_targets: ["127.0.0.1:8470"]|' \
    -e 's|^targets: \[\].*|targets: [ { domain: social.example } ]|' \
    -e 's|^  interval: 30s|  interval: 3s|' -e 's|^  timeout: 5s|  timeout: 1s|' \
    /etc/vantage/agent.yaml
  # Test only: a system call outside the filter kills the service instead of failing with EPERM,
  # so that one the daemons need cannot hide behind an error path.
  local unit
  for unit in vantage-agent vantage-collector; do
    ns mkdir -p "/run/systemd/system/$unit.service.d"
    ns sh -c "printf '[Service]\nSystemCallErrorNumber=kill\n' \
      >/run/systemd/system/$unit.service.d/test-fatal-syscalls.conf"
  done
  ns systemctl daemon-reload
  ns systemctl enable --now vantage-collector vantage-agent >/dev/null 2>&1
  check "systemctl enable --now: both active" \
    test "$(ns systemctl is-active vantage-collector vantage-agent | sort -u)" = "active"

  operator_token=$(cat "$work/operator.token")
  wait_for 30 "the agent reports to the collector over TLS (agents --json lists vp-test)" \
    agent_listed
  wait_for 30 "its results arrive (status --json lists social.example)" results_arrived

  for unit in vantage-agent vantage-collector; do
    check "$unit runs as vantage, no capabilities, no_new_privs, seccomp filter" sandboxed "$unit"
  done
  check "agent state in /var/lib/vantage-agent (StateDirectory, vantage 0700)" \
    test "$(ns stat -c '%U:%G %a' /var/lib/vantage-agent)" = "vantage:vantage 700"

  ns systemctl reload vantage-agent
  wait_for 10 "systemctl reload vantage-agent: agent.yaml reloaded (SIGHUP)" agent_reloaded

  # Upgrade (the same version again): postinst restarts what runs, keeps the admin's files.
  local before after
  before=$(ns systemctl show -p MainPID --value vantage-agent)
  ns sh -c 'dpkg -i /run/debs/*.deb >/run/dpkg-upgrade.log 2>&1'
  after=$(ns systemctl show -p MainPID --value vantage-agent)
  check "upgrade: agent restarted on the new binary" test "$before" != "$after"
  check "upgrade: the edited agent.yaml kept" ns grep -q 'name: vp-test' /etc/vantage/agent.yaml
  check "upgrade: agent.yaml still root:vantage 0640" \
    test "$(ns stat -c '%U:%G %a' /etc/vantage/agent.yaml)" = "root:vantage 640"
  wait_for 15 "upgrade: both active again" both_active

  for unit in vantage-agent vantage-collector; do
    check "$unit: never restarted, nothing killed by the sandbox" \
      test "$(ns systemctl show -p NRestarts --value "$unit")" = 0
  done

  # Purge: the agent's config, state and enablement go; the collector's database stays.
  ns dpkg --purge vantage-agent >/dev/null 2>&1
  check "purge vantage-agent: process, agent.yaml, state and enable link gone" agent_purged
  ns dpkg --purge vantage-collector >/dev/null 2>&1
  check "purge vantage-collector: the database is kept" \
    ns test -s /var/lib/vantage-collector/collector.db

  if ((failures > 0)); then
    echo "--- journal of the test systemd"
    ns journalctl --no-pager -u vantage-agent -u vantage-collector | tail -40
    echo "--- dpkg"
    ns cat /run/dpkg.log
  fi
}

if [[ -z $boot_skip ]]; then
  boot_test
fi

echo
if ((failures > 0)); then
  echo "packaging: $failures check(s) failed"
  exit 1
fi
if [[ -n $boot_skip ]]; then
  if [[ ${VANTAGE_REQUIRE_LAB:-0} == 1 ]]; then
    echo "packaging: FAIL: the systemd run was skipped ($boot_skip) and VANTAGE_REQUIRE_LAB=1"
    exit 1
  fi
  echo "packaging: SKIPPED the run under systemd: $boot_skip (everything else passed)"
  exit 77
fi
echo "packaging: all checks passed"
