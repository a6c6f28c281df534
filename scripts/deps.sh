#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine (idempotent, no prompts): Debian's
# packages (qpdf, poppler-utils, openssl, SoftHSM2, PostgreSQL, Chromium) and the Python tools
# used as independent judges and peers (pyHanko, certomancer and its CSC dummy, schemathesis,
# moto's S3 server, Playwright to drive Chromium, pymarc, bagit, openpyxl).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v qpdf >/dev/null || need_apt+=(qpdf)
command -v pdfsig >/dev/null || need_apt+=(poppler-utils)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v pip3 >/dev/null || need_apt+=(python3-pip)
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need_apt+=(softhsm2)
# The service's tests run against a real PostgreSQL server (scripts/postgres.sh starts one).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v psql >/dev/null || need_apt+=(postgresql-client)
# The browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
command -v chromium >/dev/null || need_apt+=(chromium)
# Fonts for the screenshots (Vietnamese glyphs).
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
# Always asked for: pip returns at once when they are there, and a partial install (say,
# certomancer without its web-api extra for `certomancer animate`) gets completed.
py_pkgs=('pyhanko==0.38.*' 'pyhanko-cli==0.6.*' 'certomancer[web-api]==0.16.*' 'certomancer-csc-dummy==0.4.2' 'pyyaml>=6'
  'schemathesis==4.*' 'moto[server]==5.*' 'playwright==1.64.*' 'pymarc==5.*' 'bagit==1.9.*' 'openpyxl==3.*')
pip3 install --quiet --disable-pip-version-check "${py_pkgs[@]}" \
  || pip3 install --quiet --disable-pip-version-check --break-system-packages "${py_pkgs[@]}"
# axe-core checks the pages' accessibility in the browser tests (npm registry; kept in target/).
command -v npm >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq --no-install-recommends npm; }
[ -e target/npm/node_modules/axe-core/axe.min.js ] \
  || npm install --silent --no-audit --no-fund --prefix target/npm axe-core@4.14.1
