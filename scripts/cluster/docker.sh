#!/usr/bin/env bash
# A running Docker engine for the CI cluster, on Debian as root: installs Debian's docker.io
# where Docker is missing, and starts dockerd where it does not answer. Where this machine's
# capability bounding set lacks capabilities that privileged containers ask for (kind's nodes
# are privileged), registers scripts/cluster/runc-shim as dockerd's default runtime; elsewhere
# Docker is left as it is. Safe to run again. Not for the Mac: Docker Desktop or colima there.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '==> %s\n' "$*"; }
die() { printf 'docker.sh: %s\n' "$*" >&2; exit 1; }

if docker info >/dev/null 2>&1; then
  say "Docker engine answers ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || die "start Docker yourself (this script installs and starts it only as root)"

if ! command -v dockerd >/dev/null 2>&1; then
  command -v apt-get >/dev/null || die "no dockerd and no apt-get: install a Docker engine"
  say "installing Debian's docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io containerd runc iptables ca-certificates >/dev/null
fi

# CAP_SYS_RESOURCE is bit 24 of the bounding set.
bounding="$(awk '/^CapBnd:/ {print $2}' /proc/self/status)"
mkdir -p /etc/docker
if [ $(((16#$bounding >> 24) & 1)) -eq 0 ]; then
  say "this machine's capability bounding set lacks CAP_SYS_RESOURCE: dockerd runs containers through runc-shim"
  install -m 0755 scripts/cluster/runc-shim /usr/local/bin/pantry-runc-shim
  cat >/etc/docker/daemon.json <<'JSON'
{
  "runtimes": {"pantry-runc-shim": {"path": "/usr/local/bin/pantry-runc-shim"}},
  "default-runtime": "pantry-runc-shim",
  "log-driver": "local"
}
JSON
fi

say "starting dockerd"
if pidof systemd >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl start docker
else
  # No init system to ask: dockerd in the background, its log beside the tools.
  mkdir -p .tools/log
  pidof containerd >/dev/null 2>&1 || (setsid containerd >.tools/log/containerd.log 2>&1 &)
  sleep 1
  (setsid dockerd --containerd=/run/containerd/containerd.sock >.tools/log/dockerd.log 2>&1 &)
fi
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && break
  sleep 1
done
docker info >/dev/null 2>&1 || die "dockerd did not start: see .tools/log/dockerd.log"
say "Docker engine $(docker version --format '{{.Server.Version}}') runs ($(docker info --format '{{.DefaultRuntime}}'))"
