#!/usr/bin/env bash
# The main job: set up whatever is missing, build glass, and run `glass demo`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p glass-tools
exec ./target/release/glass demo "$@"
