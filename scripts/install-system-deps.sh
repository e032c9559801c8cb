#!/usr/bin/env bash
# Installs the system packages Margay needs on Debian 12 (idempotent: installs only what is missing).
# On a machine where it cannot install (not root, not Debian/apt) it prints exactly what is missing
# and exits non-zero.
#
#   package                      provides (checked by)               used for
#   iproute2                     ip                                  links, routes, netns, neighbours
#   iptables                     iptables-restore, iptables-save     policy, NAT-outgoing
#   ipset                        ipset                               selector sets for policy
#   conntrack                    conntrack                           flushing stale flows
#   util-linux                   unshare                             the test sandbox
#   bird2                        bird, birdc                         BGP reference peer / lab ToR
#   frr                          /usr/lib/frr/bgpd, vtysh            BGP reference peer / lab ToR
#   gobgpd                       gobgpd, gobgp                       BGP reference peer
#   containernetworking-plugins  /usr/lib/cni/portmap               CNI chaining (portmap, bandwidth, tuning)
#   iputils-ping, netcat-openbsd ping, nc                            reachability probes
#   strace                       strace                              e2e datastore-fault test (fault injection)
#   build-essential, python3     g++, make, python3                  node-gyp (the TCP-MD5/GTSM addon)
set -euo pipefail

# "package:check" pairs; a check is a command name or an absolute path.
REQUIRED=(
  "iproute2:ip" "iptables:iptables-restore" "iptables:iptables-save" "ipset:ipset" "conntrack:conntrack"
  "util-linux:unshare" "bird2:bird" "bird2:birdc" "frr:/usr/lib/frr/bgpd" "frr:vtysh"
  "gobgpd:gobgpd" "gobgpd:gobgp" "containernetworking-plugins:/usr/lib/cni/portmap"
  "iputils-ping:ping" "netcat-openbsd:nc" "build-essential:g++" "build-essential:make" "python3:python3"
  "procps:pkill" "kmod:modprobe" "strace:strace"
)

have() { case "$1" in /*) [ -x "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac; }

missing=()
for pair in "${REQUIRED[@]}"; do
  pkg=${pair%%:*}; check=${pair#*:}
  if ! have "$check"; then
    case " ${missing[*]:-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "margay: system packages: all present"
  exit 0
fi

echo "margay: system packages missing: ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "margay: not root, cannot install. As root run:  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1 || [ ! -f /etc/debian_version ]; then
  echo "margay: this is not a Debian/apt system; install the equivalents of: ${missing[*]}" >&2
  exit 1
fi

echo "margay: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packaged daemons must not start system-wide services: Margay runs them itself, inside its own
# network namespaces. policy-rc.d 101 = "action forbidden" for invoke-rc.d during this install.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}"

still=()
for pair in "${REQUIRED[@]}"; do
  pkg=${pair%%:*}; check=${pair#*:}
  have "$check" || still+=("$pkg ($check)")
done
if [ ${#still[@]} -gt 0 ]; then
  echo "margay: still missing after install: ${still[*]}" >&2
  exit 1
fi
echo "margay: system packages installed"
