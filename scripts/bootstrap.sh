#!/usr/bin/env bash
# Installs what the project needs on a Debian 12 machine with Python 3.11 (as root):
# Debian packages that are missing, then a project-local virtual environment.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: need root to install Debian packages: $*" >&2
    exit 1
  fi
  [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

broker_listening() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

# RabbitMQ: reuse one listening on 127.0.0.1:5672; otherwise install Debian's
# rabbitmq-server, configured to bind to loopback only. The package's own start
# is suppressed; devstack starts the broker when it needs it.
if ! broker_listening && [ ! -x /usr/sbin/rabbitmq-server ]; then
  mkdir -p /etc/rabbitmq
  cat > /etc/rabbitmq/rabbitmq-env.conf <<'CONF'
NODE_IP_ADDRESS=127.0.0.1
DIST_PORT=25672
CONF
  grep -q ERL_EPMD_ADDRESS /etc/environment 2>/dev/null || echo "ERL_EPMD_ADDRESS=127.0.0.1" >> /etc/environment
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ $had_policy -eq 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  ERL_EPMD_ADDRESS=127.0.0.1 apt_install rabbitmq-server
  [ $had_policy -eq 1 ] || rm -f "$policy"
fi

# Python venv; reinstall only when pyproject.toml changed.
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv 2>/dev/null || { apt_install python3-venv; "$PYTHON" -m venv .venv; }
fi
stamp=.venv/.installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi

# The web app's front-end packages, pinned by gateway/web/package-lock.json
# (with integrity hashes) and served by the gateway: never a CDN at run time.
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
web_stamp=gateway/web/node_modules/.installed
want_web=$(sha256sum gateway/web/package-lock.json | cut -d' ' -f1)
if [ ! -f "$web_stamp" ] || [ "$(cat "$web_stamp")" != "$want_web" ]; then
  (cd gateway/web && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want_web" > "$web_stamp"
fi

# Debian's Chromium for the browser tests (Playwright drives it by executable_path;
# no browser is downloaded).
[ -x /usr/bin/chromium ] || apt_install chromium
