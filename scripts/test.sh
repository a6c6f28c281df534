#!/usr/bin/env bash
# Installs what the tests need (scripts/deps.sh: idempotent, no prompts) and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --workspace --all-targets
scripts/postgres.sh >/dev/null   # start it once here, so a failure shows before the tests
cargo test --workspace
