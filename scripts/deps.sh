#!/bin/sh
# Install what txnflow needs to build, test and demo, and nothing that is
# already there. Idempotent; a few seconds when everything is installed.
#   scripts/deps.sh            build + test dependencies
# Debian packages are checked with dpkg-query; apt-get update runs only when
# one is missing. The DuckDB C API (and the npm test tools) come from the
# pinned package-lock.json through `npm ci --ignore-scripts`, rerun only when
# the lock file changed since the last install.
set -eu
cd "$(dirname "$0")/.."

APT_PKGS="build-essential pkg-config git ca-certificates tzdata
  libzstd-dev zlib1g-dev libsnappy-dev libcurl4-openssl-dev libsqlite3-dev sqlite3
  libyaml-dev libssl-dev libmicrohttpd-dev libpq-dev libjansson-dev
  nodejs npm clang libclang-rt-14-dev valgrind curl time jq
  postgresql chromium python3 python3-jsonschema"
# (time: /usr/bin/time, which gives tests/run.sh and the bench/ scripts
# their CPU and peak-RSS figures)

missing=""
for p in $APT_PKGS; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$st" in
    *"ok installed"*) ;;
    *) missing="$missing $p" ;;
  esac
done
# nodejs/npm may come from outside Debian's packages (a preinstalled node);
# only ask apt for them when there is no working command.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ')
fi
# python3-jsonschema (the dbt artifact schemas' checks, t3028): a jsonschema
# that python3 already imports (pip's) will do.
if python3 -c 'import jsonschema' >/dev/null 2>&1; then
  missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e python3 -e python3-jsonschema | tr '\n' ' ')
fi
missing=$(echo $missing)
if [ -n "$missing" ]; then
  echo "deps: installing Debian packages: $missing" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
fi

stamp=node_modules/.txnflow-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "deps: npm ci --ignore-scripts" >&2
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi
