#!/usr/bin/env bash
# A Chromium for the Playwright tests: the system's if there is one (Debian's `chromium`,
# installed here when running as root with apt), else Playwright's own download. With apt,
# fonts-ipafont-gothic too, so Japanese pages (the jp region) render in screenshots.
set -euo pipefail
missing=()
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  [ -x /usr/bin/chromium ] || [ -n "${PLAYWRIGHT_CHROMIUM:-}" ] || missing+=(chromium)
  dpkg -s fonts-ipafont-gothic >/dev/null 2>&1 || missing+=(fonts-ipafont-gothic)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing ${missing[*]} for the e2e tests (apt-get)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
for candidate in "${PLAYWRIGHT_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "Chromium for the e2e tests: $candidate"
    exit 0
  fi
done
echo "No system Chromium: downloading Playwright's (python -m playwright install chromium)..."
"${1:-.venv/bin/python}" -m playwright install chromium
