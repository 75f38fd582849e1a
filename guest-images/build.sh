#!/usr/bin/env bash
# guest-images/build.sh: builds every guest-images/src/*.c as a static glibc executable
# (-static -O2 -g -Wall) for x86_64, aarch64 and riscv64 into build/guest/<arch>/<name>.
# Outputs newer than their source (and this script) are skipped. x86_64 uses gcc's default
# -march (baseline x86-64, no AVX: unicorn's CPU is a Haswell without AVX, and glibc's
# IFUNCs pick by CPUID).
# Usage: guest-images/build.sh [--arch x86_64|aarch64|riscv64]
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_ARCHES=(x86_64 aarch64 riscv64)
arches=("${ALL_ARCHES[@]}")
while [ $# -gt 0 ]; do
    case "$1" in
        --arch)
            [ $# -ge 2 ] || { echo "build.sh: --arch needs a value (x86_64, aarch64, riscv64)" >&2; exit 2; }
            case "$2" in
                x86_64|aarch64|riscv64) arches=("$2") ;;
                *) echo "build.sh: unknown arch '$2' (x86_64, aarch64, riscv64)" >&2; exit 2 ;;
            esac
            shift 2 ;;
        -h|--help)
            sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

cc_for() {
    case "$1" in
        x86_64) echo gcc ;;
        aarch64) echo aarch64-linux-gnu-gcc ;;
        riscv64) echo riscv64-linux-gnu-gcc ;;
    esac
}

# Every compiler first, so a missing one fails before anything is half built.
for arch in "${arches[@]}"; do
    cc=$(cc_for "$arch")
    if ! command -v "$cc" >/dev/null 2>&1; then
        case "$arch" in
            x86_64) pkgs="gcc libc6-dev" ;;
            aarch64) pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
            riscv64) pkgs="gcc-riscv64-linux-gnu libc6-dev-riscv64-cross" ;;
        esac
        echo "build.sh: compiler '$cc' for $arch not found (Debian: apt-get install $pkgs, or run tools/scripts/setup.sh)" >&2
        exit 1
    fi
done

shopt -s nullglob
srcs=(guest-images/src/*.c)
if [ ${#srcs[@]} -eq 0 ]; then
    echo "build.sh: no sources in guest-images/src" >&2
    exit 1
fi

CFLAGS=(-static -O2 -g -Wall)
built=0
for arch in "${arches[@]}"; do
    cc=$(cc_for "$arch")
    out_dir="build/guest/$arch"
    mkdir -p "$out_dir"
    for src in "${srcs[@]}"; do
        name=$(basename "$src" .c)
        out="$out_dir/$name"
        if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then
            continue
        fi
        echo "build.sh: $cc ${CFLAGS[*]} $src -o $out"
        # Write to a temporary name so a failed build never leaves a fresh-looking output.
        if ! "$cc" "${CFLAGS[@]}" -o "$out.tmp" "$src"; then
            rm -f "$out.tmp"
            echo "build.sh: building $src for $arch failed" >&2
            exit 1
        fi
        mv -f "$out.tmp" "$out"
        built=$((built + 1))
    done
done
echo "build.sh: $built built, guests of ${arches[*]} up to date in build/guest/"
