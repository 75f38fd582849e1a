#!/usr/bin/env bash
# guest-images/build-rust.sh: builds real multi-threaded Rust tools from crates.io — ripgrep
# (`rg`) and fd-find (`fd`), at the versions pinned below — with the host's cargo for
# x86_64-unknown-linux-gnu, statically linked (+crt-static), at the default target-cpu
# (x86-64 baseline: unicorn's CPU is a Haswell without AVX), into a cache outside the
# checkout ($HOME/.cache/glass/rust-<key>/, the key a hash of the pinned versions, the build
# flags and `rustc --version`, so a changed pin or toolchain rebuilds and an unchanged one is
# reused), then installs them into the guest root as bin/rg and bin/fd. Run it after
# populate-root.sh (which does not touch bin/rg or bin/fd). Safe to run twice.
# Usage: guest-images/build-rust.sh [ROOT]   (default build/root)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-build/root}

# The pinned tools: crate, version, binary. ripgrep searches with a thread per -j; fd walks
# the tree with a thread per -j.
RIPGREP_VERSION=15.2.0
FD_VERSION=10.5.0
TARGET=x86_64-unknown-linux-gnu
RUST_FLAGS="-C target-feature=+crt-static"

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
for tool in cargo rustc file; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build-rust.sh: no $tool found (install Rust with rustup; Debian: apt-get install file)" >&2
        exit 1
    fi
done
# On a host that is not x86_64 the target's standard library must be added first.
if [ ! -d "$(rustc --print sysroot)/lib/rustlib/$TARGET" ]; then
    if command -v rustup >/dev/null 2>&1; then
        echo "build-rust.sh: rustup target add $TARGET" >&2
        rustup target add "$TARGET" >&2
    else
        echo "build-rust.sh: the Rust toolchain has no $TARGET standard library (rustup target add $TARGET)" >&2
        exit 1
    fi
fi
if [ ! -d "$ROOT/bin" ]; then
    echo "build-rust.sh: no guest root at $ROOT (run guest-images/populate-root.sh first)" >&2
    exit 1
fi

key=$(printf 'ripgrep %s\nfd-find %s\n%s\n%s\n%s\n' "$RIPGREP_VERSION" "$FD_VERSION" "$TARGET" \
    "$RUST_FLAGS" "$(rustc --version)" | sha256sum | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/glass/rust-$key"

# install_one CRATE VERSION BIN: cargo install into the cache unless the binary is there.
install_one() {
    local crate=$1 version=$2 bin=$3
    if [ -x "$cache/bin/$bin" ]; then
        return 0
    fi
    echo "build-rust.sh: cargo install $crate $version (static, $TARGET) into $cache; this takes minutes" >&2
    # A private target dir, so an interrupted build leaves no half-installed binary in the
    # cache (cargo install copies into --root only after a successful build).
    if ! RUSTFLAGS="$RUST_FLAGS" CARGO_TARGET_DIR="$cache/target" \
        cargo install --quiet --locked --root "$cache" --target "$TARGET" \
        --version "=$version" "$crate"; then
        echo "build-rust.sh: cargo install $crate $version failed" >&2
        exit 1
    fi
}
mkdir -p "$cache"
install_one ripgrep "$RIPGREP_VERSION" rg
install_one fd-find "$FD_VERSION" fd
rm -rf "$cache/target"

for bin in rg fd; do
    # Glass runs only static programs: refuse a binary that needs a dynamic loader.
    desc=$(file -b "$cache/bin/$bin")
    case "$desc" in
        *"statically linked"* | *"static-pie linked"*) ;;
        *)
            echo "build-rust.sh: $cache/bin/$bin is not static: $desc" >&2
            exit 1
            ;;
    esac
    install -m 0755 "$cache/bin/$bin" "$ROOT/bin/$bin"
done
echo "build-rust.sh: rg (ripgrep $RIPGREP_VERSION) and fd (fd-find $FD_VERSION) in $ROOT/bin (cache $cache)" >&2
