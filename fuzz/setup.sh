#!/usr/bin/env bash
# fuzz/setup.sh: installs what the AFL++ targets need (README "Fuzzing"), never part of the
# default build or CI: Debian's afl++ (afl-fuzz, afl-showmap, afl-whatsup), cargo-afl from
# crates.io, and cargo-afl's LLVM runtime for the installed rustc. Then writes the seed
# corpora and builds the four targets. Safe to run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v afl-fuzz >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y afl++
fi
if ! cargo afl --version >/dev/null 2>&1; then
    cargo install cargo-afl
fi
# cargo-afl's AFL++ and LLVM runtime, built once per rustc (a second build is refused).
rustc_id="$(rustc -V | awk '{print $2}')-$(rustc -vV | sed -n 's/^commit-hash: //p' | cut -c1-7)"
if [ ! -d "${XDG_DATA_HOME:-$HOME/.local/share}/afl.rs/rustc-$rustc_id" ]; then
    cargo afl config --build
fi
python3 seeds/make.py
cargo afl build --release
