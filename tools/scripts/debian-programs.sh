#!/usr/bin/env bash
# Debian's static programs in the default guest root, for the oracle suites
# (tests/tests/debian_programs.rs, tests/tests/bash_suite.rs): bash-static, zsh-static, sash,
# gpgv-static, e2fsck-static and dar-static, for amd64 into build/root/bin and for arm64 into
# build/root/aarch64/bin, under the file names Debian ships (bash-static, zsh-static, sash,
# gpgv-static, e2fsck.static, dar_static), none of which is a busybox applet name. Each package
# is fetched as a package file (apt-get download) into build/cache and unpacked with
# dpkg-deb -x, never installed, as arch-roots.sh does for the arm64 busybox.
# Safe to run twice. Run after arch-roots.sh (which enables the arm64 package architecture).
set -euo pipefail
cd "$(dirname "$0")/../.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
ROOT=build/root
CACHE=build/cache/debian-programs
mkdir -p "$CACHE" "$ROOT/bin" "$ROOT/aarch64/bin"

# package  path inside the package file  (the installed name is the file's own name)
PROGRAMS=(
    "bash-static   bin/bash-static"
    "zsh-static    bin/zsh-static"
    "sash          bin/sash"
    "gpgv-static   usr/bin/gpgv-static"
    "e2fsck-static sbin/e2fsck.static"
    "dar-static    usr/bin/dar_static"
)

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "== enabling the arm64 package architecture (for the arm64 Debian programs)" >&2
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
fi

for arch in amd64 arm64; do
    case $arch in
        amd64) dest="$ROOT/bin" ;;
        arm64) dest="$ROOT/aarch64/bin" ;;
    esac
    for entry in "${PROGRAMS[@]}"; do
        read -r pkg path <<<"$entry"
        unpacked="$CACHE/$pkg-$arch"
        if [ ! -x "$unpacked/$path" ]; then
            if ! ls "$CACHE/${pkg}"_*_"$arch".deb >/dev/null 2>&1; then
                (cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "$pkg:$arch" >/dev/null)
            fi
            rm -rf "$unpacked"
            dpkg-deb -x "$CACHE/${pkg}"_*_"$arch".deb "$unpacked"
        fi
        install -m 0755 "$unpacked/$path" "$dest/$(basename "$path")"
    done
done
echo "== Debian programs: $(for e in "${PROGRAMS[@]}"; do read -r _ p <<<"$e"; printf '%s ' "$(basename "$p")"; done)for amd64 and arm64" >&2
