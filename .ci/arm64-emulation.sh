#!/usr/bin/env bash
# Makes Linux arm64 programs run on this x86-64 machine and prints the path of an arm64 sysroot:
# qemu-user-static registered with binfmt_misc (flag F, so it also works inside a chroot), and the
# C libraries Node and the native packages link against (libc, libstdc++, libgcc) unpacked from
# Debian's arm64 packages. Run arm64 programs with QEMU_LD_PREFIX=<sysroot>. Cached; a re-run on a
# ready machine takes well under a second.
set -euo pipefail
cache="${EDGELOOP_CI_CACHE:-/var/cache/edgeloop-ci}"
sysroot="$cache/arm64-sysroot"
export DEBIAN_FRONTEND=noninteractive

[ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  command -v qemu-aarch64-static >/dev/null || {
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends qemu-user-static binfmt-support >&2
  }
  update-binfmts --enable qemu-aarch64 >&2 || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "qemu-aarch64 is not registered with binfmt_misc" >&2; exit 1; }
fi

if [ ! -e "$sysroot/lib/ld-linux-aarch64.so.1" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
  fi
  apt-get update -qq >&2
  mkdir -p "$cache"
  work="$(mktemp -d "$cache/sysroot.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 >&2)
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
  # bookworm is merged-/usr: /lib is a link into usr/lib in the packages' layout.
  [ -e "$work/root/lib/ld-linux-aarch64.so.1" ] || ln -s usr/lib "$work/root/lib"
  rm -rf "$sysroot"
  mv "$work/root" "$sysroot"
fi
echo "$sysroot"
