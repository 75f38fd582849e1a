#!/usr/bin/env bash
# Every test: set up whatever is missing, then run the whole workspace's tests (unit, snapshot,
# end-to-end against native busybox and the guest programs, 9P interop with outside clients).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build -p glass-tools
cargo test --workspace --no-fail-fast "$@"
