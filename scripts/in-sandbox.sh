#!/usr/bin/env bash
# Runs a command inside a private network + mount namespace (ARCHITECTURE.md §4), so that network
# namespaces, links, routes, iptables rules and sysctls made by tests never touch the machine's own
# and concurrent runs never see each other. Inside: a private tmpfs on /run/netns (so `ip netns`
# lists only this run's namespaces), a private /run/bird, loopback up. On exit every namespace the
# run left behind is emptied of processes and deleted, even when the command failed.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "margay: integration tests need root (network namespaces, iptables, routes)." >&2
  echo "        run them as root:  sudo npm run test:integration" >&2
  exit 1
fi
command -v unshare >/dev/null || { echo "margay: 'unshare' (util-linux) is missing; run scripts/install-system-deps.sh" >&2; exit 1; }

if [ -z "${MARGAY_IN_SANDBOX:-}" ]; then
  exec unshare --net --mount --propagation private env MARGAY_IN_SANDBOX=1 "$0" "$@"
fi

mkdir -p /run/netns /run/bird /run/frr /run/margay
mount -t tmpfs -o size=16m,mode=755 margay-netns /run/netns
mount -t tmpfs -o size=16m,mode=755 margay-bird /run/bird
mount -t tmpfs -o size=16m,mode=755 margay-frr /run/frr
# Agents' CNI discovery links (/run/margay/cni-<netns inode>.sock): private, so a run never sees
# another run's links (netns inodes are reused) and leaves nothing on the host.
mount -t tmpfs -o size=16m,mode=755 margay-run /run/margay
ip link set lo up

cleanup() {
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap cleanup EXIT
"$@"
