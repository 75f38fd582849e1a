#!/usr/bin/env bash
# Guest programs of the other arches inside the default root, for mixed-arch machines and the
# per-arch suites: build/root/aarch64/bin and build/root/riscv64/bin hold the cross-built guest
# images, and aarch64 also Debian's busybox-static for arm64 with its applet links. The arm64
# busybox is fetched as a package file (apt-get download) and unpacked, never installed.
# Safe to run twice. Run after guest-images/build.sh and populate-root.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
ROOT=build/root
CACHE=build/cache
mkdir -p "$CACHE" "$ROOT/aarch64/bin" "$ROOT/riscv64/bin"

BB_ARM64="$CACHE/busybox-arm64/bin/busybox"
if [ ! -x "$BB_ARM64" ]; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        echo "== enabling the arm64 package architecture (for busybox-static:arm64)" >&2
        $SUDO dpkg --add-architecture arm64
        $SUDO apt-get update -qq
    fi
    (cd "$CACHE" && rm -f busybox-static_*_arm64.deb && apt-get download -q -o APT::Sandbox::User=root busybox-static:arm64 >/dev/null)
    dpkg-deb -x "$CACHE"/busybox-static_*_arm64.deb "$CACHE/busybox-arm64"
fi
install -m 0755 "$BB_ARM64" "$ROOT/aarch64/bin/busybox"
# Same Debian version and configuration as the amd64 build: the same applets.
for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sfn busybox "$ROOT/aarch64/bin/$a"
done
for arch in aarch64 riscv64; do
    if [ -d "build/guest/$arch" ]; then
        for f in build/guest/"$arch"/*; do
            [ -f "$f" ] && install -m 0755 "$f" "$ROOT/$arch/bin/$(basename "$f")"
        done
    fi
done
echo "== arch roots: $(ls "$ROOT/aarch64/bin" | wc -l) files for aarch64, $(ls "$ROOT/riscv64/bin" | wc -l) for riscv64" >&2
