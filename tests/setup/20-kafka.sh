# A Kafka-protocol broker for the kafka plugin's tests: tansu (crates.io, Apache-2.0),
# built with its sqlite storage engine. Only the binary is installed here, into a cache
# folder outside the clone; each test starts its own broker on a free 127.0.0.1 port and
# stops it. A cold build takes ~13 minutes, so an installed binary is kept.
FERRY_CACHE="${FERRY_CACHE:-$HOME/.cache/ferry}"
export FERRY_TANSU="$FERRY_CACHE/tools/bin/tansu"
if [ ! -x "$FERRY_TANSU" ]; then
  # A separate target folder, so the workspace's shared one is not locked for 13 minutes
  # by another workspace's build.
  CARGO_TARGET_DIR="$FERRY_CACHE/tools-target" \
    cargo install tansu --version 0.6.0 --locked --features libsql \
      --root "$FERRY_CACHE/tools" --quiet
fi
"$FERRY_TANSU" --version
