#!/bin/sh
# Installs an unpacked edgeloop agent bundle on a device, offline: nothing is downloaded. Raspberry
# Pi OS bookworm (64-bit), JetPack 5/6 or any systemd Linux on the bundle's architecture.
#
#   sudo ./install.sh --url http://cp.lan:8080 --token TOKEN [--config FILE] [--public-key FILE]
#                     [--name NAME] [--no-start]
#
# --config FILE     agent config to start from (camera, sampling, ...); url, token and the
#                   bundle's signing key are laid over it. Default: the installed one, if any.
# --public-key FILE the control plane's public key (PEM or signing-key.json): the bundle must be
#                   signed with it. Without it the bundle is only checked to be intact.
# --no-start        install, but do not enable and start the service.
#
# Layout: code in /opt/edgeloop/<version> with /opt/edgeloop/current pointing at it, the service's
# launcher in /opt/edgeloop/edgeloop-launcher, config in /etc/edgeloop/agent.json, state in
# /var/lib/edgeloop (self-updates unpack into /var/lib/edgeloop/agent/slots), service
# edgeloop-agent (user edgeloop, in groups video and render). Running it again upgrades in place;
# state and config are kept, and the installed version runs (self-update slots are set aside).
set -eu

die() { echo "install.sh: $*" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
url='' token='' config='' pubkey='' name='' start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=${2:?--url needs a value}; shift 2 ;;
    --token) token=${2:?--token needs a value}; shift 2 ;;
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --public-key) pubkey=${2:?--public-key needs a file}; shift 2 ;;
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root (sudo)"

# Node: the bundle's own, else the system's (20.19 or newer).
node="$here/node/bin/node"
if [ ! -x "$node" ]; then
  node=$(command -v node) || die "this bundle has no Node runtime and none is installed: use a bundle built --with-node"
  "$node" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node $("$node" --version) is too old: 20.19 or newer is needed"
fi

# 1. The bundle is intact (every file's sha256) and signed (by --public-key, if given).
checked=$("$node" "$here/app/verify-bundle.mjs" "$here" ${pubkey:+"$pubkey"}) || die "refusing to install"
version=${checked%% *}; rest=${checked#* }; arch=${rest%% *}
case "$(uname -m)" in aarch64|arm64) machine=arm64 ;; x86_64|amd64) machine=x64 ;; *) machine=$(uname -m) ;; esac
[ "$arch" = "$machine" ] || die "this bundle is for $arch, this machine is $machine"
echo "install.sh: edgeloop agent $version ($arch), bundle verified"

# 2. The service user, in the groups that own cameras (video) and GPU/DMA buffers (render).
for group in video render; do getent group "$group" >/dev/null || groupadd --system "$group"; done
if ! id edgeloop >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/edgeloop --no-create-home \
    --shell /usr/sbin/nologin --groups video,render edgeloop
else
  usermod -a -G video,render edgeloop
fi

# 3. The code: a versioned directory, then the `current` link swapped atomically (rename).
mkdir -p /opt/edgeloop
rm -rf "/opt/edgeloop/$version.new"
cp -a "$here" "/opt/edgeloop/$version.new"
chown -R root:root "/opt/edgeloop/$version.new"
rm -rf "/opt/edgeloop/$version"
mv "/opt/edgeloop/$version.new" "/opt/edgeloop/$version"
ln -sfn "$version" /opt/edgeloop/current.new
mv -T /opt/edgeloop/current.new /opt/edgeloop/current
# The launcher picks the self-updated slot or this code and reverts a bad self-update; it lives
# outside the versioned folders so a self-update never replaces it (docs/guides/agent-updates.md).
install -m 0755 "$here/bin/edgeloop-launcher" /opt/edgeloop/edgeloop-launcher.new
mv -f /opt/edgeloop/edgeloop-launcher.new /opt/edgeloop/edgeloop-launcher

# 4. State and config. The token is a secret until used: the config is readable by root and the
# service only.
install -d -m 0700 -o edgeloop -g edgeloop /var/lib/edgeloop
# An install by hand is the operator's choice of version: the launcher runs it, not an older
# self-updated slot (the slots stay; the next self-update reuses them).
rm -f /var/lib/edgeloop/agent/current /var/lib/edgeloop/agent/trial /var/lib/edgeloop/agent/boots
install -d -m 0750 -o root -g edgeloop /etc/edgeloop
target=/etc/edgeloop/agent.json
[ -n "$config" ] || { [ -f "$target" ] && config=$target; } || true
[ -f "$target" ] || [ -n "$url" ] || die "--url and --token are needed on a first install"
umask 027
EDGELOOP_URL=$url EDGELOOP_TOKEN=$token EDGELOOP_NAME=$name "$node" --input-type=module -e '
  import { readFileSync, writeFileSync } from "node:fs";
  const [base, manifestFile, out] = process.argv.slice(1);
  const config = base ? JSON.parse(readFileSync(base, "utf8")) : {};
  const { signer } = JSON.parse(readFileSync(manifestFile, "utf8"));
  const env = process.env;
  if (env.EDGELOOP_URL) config.controlPlaneUrl = env.EDGELOOP_URL;
  if (env.EDGELOOP_TOKEN) config.enrollmentToken = env.EDGELOOP_TOKEN;
  if (env.EDGELOOP_NAME) config.name = env.EDGELOOP_NAME;
  // The key that signed this bundle signs the models too (the control plane has one key).
  const keys = (config.trustedKeys ?? []).filter((k) => k.keyId !== signer.keyId);
  config.trustedKeys = [...keys, signer];
  writeFileSync(out + ".new", JSON.stringify(config, null, 2) + "\n");
' "$config" "$here/bundle-manifest.json" "$target"
chgrp edgeloop "$target.new"
mv "$target.new" "$target"
EDGELOOP_AGENT_DATA_DIR=/var/lib/edgeloop /opt/edgeloop/current/bin/edgeloop-agent --config "$target" --check \
  || die "the config $target is not valid (see above)"

# 5. The service (Type=notify with a watchdog; see the unit file).
install -m 0644 /opt/edgeloop/current/edgeloop-agent.service /etc/systemd/system/edgeloop-agent.service
if [ -d /run/systemd/system ] && [ "$start" = 1 ]; then
  systemctl daemon-reload
  systemctl enable edgeloop-agent
  systemctl restart edgeloop-agent
  echo "install.sh: edgeloop-agent started; follow it with: journalctl -u edgeloop-agent -f"
else
  echo "install.sh: installed; start it with: systemctl enable --now edgeloop-agent"
fi
case "$(grep -o '"type": *"[a-z-]*"' "$target" | head -1)" in
  *v4l2*|*rtsp*|*http-mjpeg*|*ffmpeg*) command -v ffmpeg >/dev/null || echo "install.sh: warning: the camera needs ffmpeg (apt-get install ffmpeg)" >&2 ;;
esac
