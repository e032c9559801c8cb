#!/usr/bin/env bash
# The main job: `margayctl lab up` — a Margay cluster on this machine, in network namespaces inside
# the sandbox (scripts/in-sandbox.sh): a top-of-rack router (BIRD, else FRR, else margay-bgpd),
# 3 nodes each running margay-node on one shared file datastore, 2 pods per node made through the
# real CNI plugin, and an "outside" namespace for NAT-outgoing. It prints the BGP sessions, the pod
# routes in every kernel, the pods and the TCP/UDP reachability matrix, then takes the lab down
# (docs/lab.md). `--keep` leaves it up until Ctrl-C; other options go to `lab up`
# (e.g. --nodes 4 --pods 3 --mode rr|ebgp|host-gw --dual-stack --tor frr).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${MARGAY_IN_SANDBOX:-}" != 1 ]; then
  exec scripts/in-sandbox.sh "$0" "$@"
fi
keep=0
args=()
for a in "$@"; do
  if [ "$a" = --keep ]; then keep=1; else args+=("$a"); fi
done
ctl() { node dist/src/cli/margayctl.js "$@"; }
rc=0
ctl lab up --name main ${args[@]+"${args[@]}"} || rc=$?
if [ "$keep" = 1 ]; then
  echo
  echo "--keep: the lab stays up; in another shell: sudo nsenter -t $$ -n -m node dist/src/cli/margayctl.js lab status --name main"
  echo "        (also probe, exec TARGET -- CMD, apply -f FILE). Ctrl-C takes it down."
  trap 'true' INT
  sleep infinity & wait $! || true
fi
ctl lab down --name main
exit "$rc"
