#!/usr/bin/env bash
# Prints the path of a clean Debian bookworm (minbase) root filesystem tarball, building it once.
# Container images (deploy/Dockerfile*) and the device-install tests (install.sh in a clean root)
# both start from this: these machines cannot pull images from a registry, but they reach Debian's
# mirror. debootstrap takes about a minute and a half; the tarball is cached between runs.
#   usage: .ci/bookworm-rootfs.sh [amd64|arm64]   (default amd64; arm64 needs qemu-user-static)
set -euo pipefail
arch="${1:-amd64}"
cache="${EDGELOOP_CI_CACHE:-/var/cache/edgeloop-ci}"
out="$cache/bookworm-minbase-$arch.tar"
if [ -s "$out" ]; then echo "$out"; exit 0; fi
command -v debootstrap >/dev/null || {
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
}
mkdir -p "$cache"
work="$(mktemp -d "$cache/rootfs-$arch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mirror="${EDGELOOP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
debootstrap --variant=minbase --arch="$arch" bookworm "$work/root" "$mirror" >&2
# Leave no apt lists or debootstrap logs in the image.
rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/"*.bin "$work/root/debootstrap"
tar -C "$work/root" --numeric-owner -cf "$out.partial" .
mv "$out.partial" "$out"
echo "$out"
