#!/usr/bin/env bash
# Debian's Chromium and a font for the JupyterLab browser tests (Playwright drives it; Playwright's own browser download
# needs a network these machines may not have). Installs as root or through passwordless sudo; otherwise it says how,
# and the browser tests are skipped with that reason.
set -euo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"
else echo "install_browser: not root, so the browser tests will be skipped; to run them: sudo apt-get install chromium fonts-dejavu-core" >&2; exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "install_browser: no apt-get here, so the browser tests will be skipped; install Chromium so that 'chromium' is on PATH" >&2; exit 0; fi
echo "install_browser: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
