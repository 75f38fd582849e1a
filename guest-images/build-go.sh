#!/usr/bin/env bash
# guest-images/build-go.sh: builds the Go guest programs (guest-images/go/<name>/) with
# Debian's Go toolchain, CGO_ENABLED=0 (static), for amd64, arm64 and riscv64, into a cache
# outside the checkout ($HOME/.cache/glass/go-<key>/<arch>/<name>, the key a hash of the
# sources and the Go version, so a changed source or toolchain rebuilds and an unchanged one
# is reused), then installs them into the guest root as go-<name>: build/root/bin (amd64),
# build/root/aarch64/bin and build/root/riscv64/bin. Safe to run twice.
# Usage: guest-images/build-go.sh [ROOT]   (default build/root)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-build/root}
if ! command -v go >/dev/null 2>&1; then
    echo "build-go.sh: no Go toolchain (Debian: apt-get install golang-go, or run tools/scripts/setup.sh)" >&2
    exit 1
fi
key=$( (go version; find guest-images/go -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/glass/go-$key"
names=()
for d in guest-images/go/*/; do names+=("$(basename "$d")"); done
built=0
for goarch in amd64 arm64 riscv64; do
    case "$goarch" in
        amd64) arch=x86_64; dest="$ROOT/bin" ;;
        arm64) arch=aarch64; dest="$ROOT/aarch64/bin" ;;
        riscv64) arch=riscv64; dest="$ROOT/riscv64/bin" ;;
    esac
    mkdir -p "$cache/$arch" "$dest"
    for n in "${names[@]}"; do
        out="$cache/$arch/$n"
        if [ ! -x "$out" ]; then
            echo "build-go.sh: go build $n for $goarch" >&2
            (cd guest-images/go && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOFLAGS=-mod=mod GOPROXY=off \
                go build -trimpath -o "$out.tmp" "./$n") && mv "$out.tmp" "$out"
            built=$((built + 1))
        fi
        install -m 0755 "$out" "$dest/go-$n"
    done
done
echo "build-go.sh: ${#names[@]} Go programs for amd64, arm64, riscv64 ($built built, cache $cache)" >&2
