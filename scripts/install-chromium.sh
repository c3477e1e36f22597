#!/usr/bin/env bash
# A Chromium for the Playwright tests: the system's if there is one (Debian's `chromium`,
# installed here when running as root with apt), else Playwright's own download.
set -euo pipefail
for candidate in "${PLAYWRIGHT_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "Chromium for the e2e tests: $candidate"
    exit 0
  fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the e2e tests (apt-get)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "No system Chromium: downloading Playwright's (python -m playwright install chromium)..."
"${1:-.venv/bin/python}" -m playwright install chromium
