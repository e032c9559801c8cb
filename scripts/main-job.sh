#!/usr/bin/env bash
# The main job. Until `margayctl lab` exists this is the BGP demo (src/lab/bgp-demo.ts): a BIRD
# top-of-rack router and two nodes running margay-bgpd, in network namespaces inside the sandbox;
# it prints the sessions, RIBs, kernel routes and a pod-to-pod reachability check. `--keep` leaves
# the topology up until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/in-sandbox.sh node dist/src/lab/bgp-demo.js "$@"
