#!/usr/bin/env bash
# The whole test suite, from a fresh clone: builds every crate, then runs the unit tests
# and the end-to-end tests (which run the real `ferry` binary and plugin libraries).
# Whatever the tests need is installed and started here.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build outputs are cached outside the clone, so a fresh clone builds incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

cargo build --workspace --locked
cargo test --workspace --locked --no-fail-fast -- --test-threads 2
