#!/usr/bin/env bash
# guest-images/populate-root.sh ROOT: fills a guest root for glass — ROOT/bin/busybox (copied
# from the host's /bin/busybox, busybox-static) with a symlink ROOT/bin/<applet> -> busybox for
# every applet it lists, the x86_64 guest images from build/guest/x86_64 in ROOT/bin, the
# bundled data (guest-images/data) in ROOT/data, and an empty ROOT/tmp. Idempotent: safe to run
# any number of times. Run guest-images/build.sh first for the guest images.
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 ROOT" >&2
    exit 2
fi
ROOT=$1
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUSYBOX=${BUSYBOX:-/bin/busybox}

if [ ! -x "$BUSYBOX" ]; then
    echo "populate-root.sh: $BUSYBOX not found (Debian: apt-get install busybox-static)" >&2
    exit 1
fi
if command -v file >/dev/null 2>&1 && ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
    echo "populate-root.sh: $BUSYBOX is not statically linked (install busybox-static)" >&2
    exit 1
fi

mkdir -p "$ROOT/bin" "$ROOT/data" "$ROOT/tmp"

# busybox and its applet links. install(1) replaces the file (never writes through a link).
install -m 0755 "$BUSYBOX" "$ROOT/bin/busybox"
n_applets=0
for a in $("$BUSYBOX" --list); do
    case "$a" in busybox|*/*|"") continue ;; esac
    ln -sfn busybox "$ROOT/bin/$a"
    n_applets=$((n_applets + 1))
done

# x86_64 guest images (a guest named like an applet replaces the applet link).
n_guests=0
if [ -d "$REPO/build/guest/x86_64" ]; then
    for f in "$REPO"/build/guest/x86_64/*; do
        [ -f "$f" ] || continue
        case "$f" in *.tmp) continue ;; esac
        dst="$ROOT/bin/$(basename "$f")"
        [ -L "$dst" ] && rm -f "$dst"
        install -m 0755 "$f" "$dst"
        n_guests=$((n_guests + 1))
    done
else
    echo "populate-root.sh: no build/guest/x86_64 yet (run guest-images/build.sh); only busybox installed" >&2
fi

# Bundled data: a copy that mirrors guest-images/data (files removed there go here too).
# Plain cp, not rsync, which a minimal host may lack.
rm -rf "$ROOT/data.new"
cp -R "$REPO/guest-images/data" "$ROOT/data.new"
rm -rf "$ROOT/data"
mv "$ROOT/data.new" "$ROOT/data"

echo "populate-root.sh: $ROOT: busybox + $n_applets applet links, $n_guests x86_64 guests, data ($(find "$ROOT/data" -type f | wc -l) files)"
