#!/usr/bin/env bash
# The GraphiQL browser test drives Debian's Chromium (no browser download is possible here).
# Installs it when missing and we are root; otherwise says how.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the GraphiQL browser test…"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "/usr/bin/chromium is missing: run 'sudo apt-get install -y chromium' (needed by test/graphiql.test.ts)" >&2
  exit 1
fi
