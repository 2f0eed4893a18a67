#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs and starts what the tests need
# (tests/setup/*.sh, in order), builds every crate, then runs the unit tests and the
# end-to-end tests (which run the real `ferry` binary and plugin libraries).
set -euo pipefail
cd "$(dirname "$0")/.."

# Installed tools are cached outside the clone. Build output too, in a folder of this
# checkout's own: cargo names plugin libraries (cdylibs) without a hash, so checkouts
# sharing a target folder would run each other's plugins.
export FERRY_CACHE="${FERRY_CACHE:-$HOME/.cache/ferry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$FERRY_CACHE/target/$(pwd -P | sha256sum | cut -c1-12)}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

for setup in tests/setup/*.sh; do
  [ -e "$setup" ] || continue
  echo "== $setup"
  # shellcheck source=/dev/null
  source "$setup"
done

cargo build --workspace --locked
cargo test --workspace --locked --no-fail-fast -- --test-threads 2

# The C Data Interface code is the project's unsafe FFI core: its tests run again under
# valgrind, which fails on any invalid access or leaked allocation.
echo "== valgrind: plugin-api's batch tests"
cargo test -p ferry-plugin-api --lib --locked \
  --config "target.'cfg(all())'.runner = 'valgrind -q --leak-check=full --show-possibly-lost=no --errors-for-leak-kinds=definite --error-exitcode=1'" \
  -- abi::batch --test-threads 1
