#!/usr/bin/env bash
# System packages for the real-stack tests, installed (Debian/Ubuntu, as root) only when missing:
#   postgresql                        server programs for the test's own throw-away cluster (two-triggerer test)
#   chromium, chromium-driver         the browser the UI test drives through Playwright (the PyPI package)
#   fonts-liberation, fonts-dejavu-core   readable text in the UI screenshots
# Exit status 0 when everything is present afterwards; 1 when something is missing and cannot be installed here
# (not root, or no apt-get): `make test` runs this best-effort (those tests then skip, saying why), .ci/run
# requires it.
set -euo pipefail

have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}
have_chromium() { [ -x /usr/bin/chromium ] || command -v chromium >/dev/null; }
have_chromedriver() { [ -x /usr/bin/chromedriver ] || command -v chromedriver >/dev/null; }
have_fonts() {
  [ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] &&
    [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]
}

missing_packages() {
  local wanted=()
  have_postgres || wanted+=(postgresql)
  have_chromium || wanted+=(chromium)
  have_chromedriver || wanted+=(chromium-driver)
  have_fonts || wanted+=(fonts-liberation fonts-dejavu-core)
  echo "${wanted[*]}"
}

missing=$(missing_packages)
if [ -z "$missing" ]; then
  echo "system-deps: PostgreSQL, Chromium, ChromeDriver and fonts are present."
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing: $missing. Install them as root (apt-get install --no-install-recommends $missing);" \
    "until then the PostgreSQL and browser tests skip." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [[ " $missing " == *" postgresql "* ]]; then
  # The tests make their own cluster; the package must not create and start a "main" one on port 5432.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/90-no-main-cluster.conf
fi
echo "system-deps: installing $missing ..."
start=$(date +%s)
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "system-deps: installed in $(($(date +%s) - start)) s."

still=$(missing_packages)
if [ -n "$still" ]; then
  echo "system-deps: still missing after apt-get install: $still" >&2
  exit 1
fi
chromium --version 2>/dev/null || true
