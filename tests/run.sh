#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs and starts what the tests need
# (tests/setup/*.sh, in order), builds every crate, then runs the unit tests and the
# end-to-end tests (which run the real `ferry` binary and plugin libraries).
set -euo pipefail
cd "$(dirname "$0")/.."

# Build outputs and installed tools are cached outside the clone, so a fresh clone
# builds incrementally; a cold machine builds everything.
export FERRY_CACHE="${FERRY_CACHE:-$HOME/.cache/ferry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$FERRY_CACHE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

for setup in tests/setup/*.sh; do
  [ -e "$setup" ] || continue
  echo "== $setup"
  # shellcheck source=/dev/null
  source "$setup"
done

# Checkouts sharing the target folder get the same names for the binary and plugin
# libraries at its top, and cargo does not copy a fresh build there again: remove them so
# that this checkout's own are linked (seconds), not another clone's.
rm -f "$CARGO_TARGET_DIR"/debug/ferry "$CARGO_TARGET_DIR"/debug/lib*.so \
  "$CARGO_TARGET_DIR"/external-plugins/debug/lib*.so

cargo build --workspace --locked
cargo test --workspace --locked --no-fail-fast -- --test-threads 2
