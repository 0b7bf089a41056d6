#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver from Debian's packages (apt) for the browser test of the
# connection form (tests/test_connection_form_browser.py). Does nothing when `chromedriver` is already on
# PATH, so it is safe to run before every test run. Silent on success; on failure it prints apt's output
# and exits non-zero. Needs root, or sudo without a password. (On Ubuntu these package names are snap
# wrappers that do not work in containers: use a Debian image.)
set -euo pipefail

if command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi

fail() {
    echo "install-browser.sh: $*" >&2
    exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "chromedriver is missing and there is no apt-get to install it with"

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "installing chromium needs root or sudo"
    as_root=(sudo --non-interactive)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >"$log" 2>&1; then
        cat "$log" >&2
        fail "failed: $*"
    fi
}
run apt-get update -q
run apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-liberation

command -v chromedriver >/dev/null 2>&1 || fail "apt installed chromium-driver, yet chromedriver is not on PATH"
command -v chromium >/dev/null 2>&1 || fail "apt installed chromium, yet chromium is not on PATH"
