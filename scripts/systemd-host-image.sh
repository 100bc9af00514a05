#!/usr/bin/env bash
# Builds (once) the image of the systemd test host: Debian bookworm with systemd as PID 1, logind,
# dbus-user-session (so `systemctl --user -M USER@` works), journald, rootless Podman for service
# users (uidmap, runc), nginx for their containers, openssl for the tests' own evidence, and
# python3 + openssh-server so Ansible can manage it (test/ansible-fleet.test.ts).
# Root filesystem by mmdebstrap from the Debian mirror apt already uses here (read from /etc/apt,
# never hard-coded), imported into rootful Podman. Reused when the tag already exists: the tag
# carries a hash of this script, so changing the recipe builds a new image.
#
# Usage: systemd-host-image.sh            print the image name (building it when missing)
# Exit 0 with the image name on stdout; non-zero with the reason on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX="${CERTWRIGHT_HOST_IMAGE_PREFIX:-localhost/hosts-systemd}"
RECIPE_HASH="$(sha256sum "$0" | cut -c1-12)"
IMAGE="$PREFIX:$RECIPE_HASH"
PACKAGES="systemd,systemd-sysv,dbus,libpam-systemd,dbus-user-session,procps,podman,uidmap,runc,crun,slirp4netns,fuse-overlayfs,busybox-static,openssl,nginx-light,iproute2,python3,openssh-server"

fail() { echo "systemd-host-image: $*" >&2; exit 1; }

command -v podman >/dev/null 2>&1 || fail "podman is not installed (scripts/install-tools.sh installs it)"
if podman image exists "$IMAGE" 2>/dev/null; then echo "$IMAGE"; exit 0; fi
[ "$(id -u)" = "0" ] || fail "building the image needs root (mmdebstrap and rootful podman)"
# Test files start in parallel: one builds, the others wait for it and then reuse the image.
exec 9>/var/lock/hosts-systemd-image.lock
flock 9
if podman image exists "$IMAGE" 2>/dev/null; then echo "$IMAGE"; exit 0; fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || fail "mmdebstrap is missing and there is no apt-get to install it"
  echo "systemd-host-image: apt-get install mmdebstrap" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null || fail "apt-get install mmdebstrap failed"
fi

# The mirror: the first `deb` URI in apt's own sources that serves bookworm (deb822 .sources first,
# then one-line sources.list entries). Security and updates suites are not the base mirror.
mirror_from_apt() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS=""; FS="\n"}
      { uri=""; suites=""; types="";
        for (i=1;i<=NF;i++) { if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/,"",$i); uri=$i }
                              if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/,"",$i); suites=" " $i " " }
                              if ($i ~ /^Types:/) { types=$i } }
        if (types ~ /deb( |$)/ && suites ~ / bookworm / && uri != "") { split(uri,u," "); print u[1]; exit } }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1=="deb" { i=2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1)=="bookworm") { print $i; exit } }' "$f"
  done
}
MIRROR="$(mirror_from_apt | head -1)"
[ -n "$MIRROR" ] || fail "no Debian bookworm mirror found in /etc/apt/sources.list{,.d}: add one, or build the image elsewhere and podman load it as $IMAGE"

WORK="$(mktemp -d /var/tmp/hosts-systemd-build.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
echo "systemd-host-image: building $IMAGE from $MIRROR (one time; reused afterwards)" >&2
# Hooks: rootless Podman inside must use runc (crun refuses hybrid cgroups here) and no default
# ulimit; nginx is for the service users' containers, never a system service of the host image;
# sshd (python3 and sshd: what Ansible needs of a managed host) does not start at boot: the hosts
# share the machine's network, so a test gives each its own port and host keys (SystemdHost.startSsh);
# machine-id is left empty so each boot gets its own.
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
  --customize-hook='mkdir -p "$1/etc/containers" && printf "[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n" > "$1/etc/containers/containers.conf"' \
  --customize-hook='chroot "$1" systemctl mask nginx.service >/dev/null 2>&1 || ln -sf /dev/null "$1/etc/systemd/system/nginx.service"' \
  --customize-hook='chroot "$1" systemctl mask getty@tty1.service console-getty.service >/dev/null 2>&1 || true' \
  --customize-hook='chroot "$1" systemctl disable ssh.service ssh.socket >/dev/null 2>&1 || true; rm -f "$1/etc/systemd/system/multi-user.target.wants/ssh.service" "$1"/etc/ssh/ssh_host_*' \
  --customize-hook=': > "$1/etc/machine-id"' \
  bookworm "$WORK/rootfs.tar" "$MIRROR" >&2 || fail "mmdebstrap failed (see above)"
podman import -q "$WORK/rootfs.tar" "$IMAGE" >/dev/null || fail "podman import failed"
# Images of older recipes (about 340 MB each) are left alone: another checkout may still use its
# own recipe's tag. Remove them by hand: podman images "$PREFIX" ; podman rmi "$PREFIX:OLDTAG".
echo "$IMAGE"
