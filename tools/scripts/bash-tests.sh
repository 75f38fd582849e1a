#!/usr/bin/env bash
# bash's own test suite for tests/tests/bash_suite.rs: Debian's source of the bash that
# bash-static is built from (bookworm's 5.2.15-2, fetched from deb.debian.org's pool by URL and
# checked against the pinned SHA-256 sums, unpacked and patched with dpkg-source) in a cache
# outside the checkout, $HOME/.cache/glass/bash-tests-<key> (the key a hash of this script,
# so a changed pin or layout rebuilds and an unchanged one is reused). Beside the source it
# makes a guest root, root/: etc/ (passwd and group with root), usr/, tmp/, bin/ with the
# x86_64 busybox and its applet links, bash-static and bash's test helpers (recho, zecho,
# printenv, xcase from its support/ directory, built static), aarch64/bin/ with the same for
# arm64, and tests/, bash's tests directory. The binaries are refreshed from build/root on
# every run. Prints the cache directory on stdout.
# Run after debian-programs.sh. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=build/root

# Debian bookworm's bash source package (the one bash-static 5.2.15-2+b13 is built from).
VERSION=5.2.15-2
POOL=http://deb.debian.org/debian/pool/main/b/bash
FILES=(
    "bash_5.2.15-2.dsc f51753e946af43eb58549c81e03b35a47af9fe6c6364179ccd4ef862b7c3b2d3"
    "bash_5.2.15.orig.tar.gz 7a315bc0e9d90713159e4390ec1096a41e4f33cd8cc3d1a749a8e5ad56600f51"
    "bash_5.2.15-2.debian.tar.xz 998f8ea5b754a734ae7d8306e149c43d713ddfcf49623a036004b729237dbcca"
)
HELPERS=(recho zecho printenv xcase)

for p in "$ROOT/bin/bash-static" "$ROOT/aarch64/bin/bash-static" "$ROOT/bin/busybox" \
    "$ROOT/aarch64/bin/busybox"; do
    if [ ! -x "$p" ]; then
        echo "bash-tests.sh: no $p (run tools/scripts/debian-programs.sh and arch-roots.sh first)" >&2
        exit 1
    fi
done

key=$(sha256sum "$0" | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/glass/bash-tests-$key"
mkdir -p "$cache/dl"

if [ ! -f "$cache/src/.unpacked" ]; then
    echo "bash-tests.sh: fetching bash $VERSION's source into $cache" >&2
    for entry in "${FILES[@]}"; do
        read -r f sum <<<"$entry"
        if ! echo "$sum  $cache/dl/$f" | sha256sum -c --status 2>/dev/null; then
            curl -sSf -o "$cache/dl/$f.part" "$POOL/$f"
            mv "$cache/dl/$f.part" "$cache/dl/$f"
        fi
        echo "$sum  $cache/dl/$f" | sha256sum -c --status || {
            echo "bash-tests.sh: $f does not match its pinned SHA-256" >&2
            exit 1
        }
    done
    rm -rf "$cache/src"
    # The .dsc's own signature is not checked (no Debian keyring need be present); the sums
    # pinned above stand for it.
    dpkg-source --no-check -x "$cache/dl/bash_$VERSION.dsc" "$cache/src" >/dev/null
    touch "$cache/src/.unpacked"
fi

# The helpers, static, for both arches. bash's Makefile builds them from support/ with the
# configure-made config.h; these four need only the headers a C99 libc has.
mkdir -p "$cache/helpers"
printf '#define HAVE_UNISTD_H 1\n#define HAVE_STRING_H 1\n#define HAVE_STDLIB_H 1\n#define HAVE_LOCALE_H 1\n' \
    > "$cache/helpers/config.h"
for h in "${HELPERS[@]}"; do
    for cc in gcc aarch64-linux-gnu-gcc; do
        out="$cache/helpers/$h.$cc"
        if [ ! -x "$out" ]; then
            $cc -static -O2 -w -DHAVE_CONFIG_H -include string.h -include unistd.h \
                -I"$cache/helpers" -I"$cache/src" -I"$cache/src/include" \
                -o "$out.part" "$cache/src/support/$h.c"
            mv "$out.part" "$out"
        fi
    done
done

# The guest root. Files are copied (a root's symlinks must stay inside it). The tests
# expect what any Linux root has: /etc with root in passwd and group (coproc.tests reads
# them), /usr and /etc to pushd into (dstack.tests), /tmp.
r="$cache/root"
mkdir -p "$r/bin" "$r/aarch64/bin" "$r/tmp" "$r/usr/bin" "$r/etc"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$r/etc/passwd"
printf 'root:x:0:\n' > "$r/etc/group"
for arch in x86_64 aarch64; do
    case $arch in
        x86_64) from="$ROOT/bin" to="$r/bin" cc=gcc ;;
        aarch64) from="$ROOT/aarch64/bin" to="$r/aarch64/bin" cc=aarch64-linux-gnu-gcc ;;
    esac
    install -C -m 0755 "$from/busybox" "$to/busybox"
    install -C -m 0755 "$from/bash-static" "$to/bash-static"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || [ -e "$to/$a" ] || ln -s busybox "$to/$a"
    done
    for h in "${HELPERS[@]}"; do
        # printenv is also a busybox applet: bash's own must win, as in its `make tests`.
        rm -f "$to/$h"
        install -m 0755 "$cache/helpers/$h.$cc" "$to/$h"
    done
done
if [ ! -f "$r/tests/.copied" ]; then
    rm -rf "$r/tests"
    cp -a "$cache/src/tests" "$r/tests"
    touch "$r/tests/.copied"
fi
echo "$cache"
