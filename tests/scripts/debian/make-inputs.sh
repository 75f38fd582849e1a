#!/usr/bin/env bash
# Host-side inputs of e2fsck.sh, gpgv.sh and dar.sh, made with the host's mke2fs, debugfs
# and gpg into DIR (tmp/debian-inputs in the guest root): ext2, ext4 and damaged ext2 images, a signing key
# exported as a keyring, a second unrelated keyring, a message with detached and inline
# signatures, and dar.sh's stand-in gpg. Times are pinned to 2024-01-01 (before the guest
# clock's 2025-01-01) so neither e2fsck nor gpgv sees a time in the future under glass.
set -euo pipefail
DIR=$1
export E2FSPROGS_FAKE_TIME=1704067200 # 2024-01-01T00:00:00Z
UUID=5eed0000-0000-4000-8000-000000000001
mkdir -p "$DIR/tree/sub"
printf 'hello from an ext file system\n' > "$DIR/tree/hello.txt"
seq 1 3000 > "$DIR/tree/sub/numbers.txt"
for t in ext2 ext4; do
    mke2fs -q -F -t $t -U $UUID -E hash_seed=$UUID -L glass-$t -d "$DIR/tree" "$DIR/$t.img" 4096 >/dev/null
done
cp "$DIR/ext2.img" "$DIR/damaged.img"
# Unlink a file without freeing its inode (an unattached inode), and clear another's inode
# while its directory entry stays (a dangling entry): e2fsck finds and fixes both.
debugfs -w -R "unlink /hello.txt" "$DIR/damaged.img" >/dev/null 2>&1
debugfs -w -R "clri /sub/numbers.txt" "$DIR/damaged.img" >/dev/null 2>&1
rm -rf "$DIR/tree"

G="$DIR/gpghome"
mkdir -m 700 -p "$G" "$DIR/gpgother"
gpgq() { gpg --homedir "$1" --batch --quiet --no-tty --faked-system-time 20240101T000000! \
    --pinentry-mode loopback --passphrase '' "${@:2}"; }
gpgq "$G" --quick-gen-key 'Glass Test <glass@example.org>' ed25519 sign never 2>/dev/null
gpgq "$DIR/gpgother" --quick-gen-key 'Other <other@example.org>' ed25519 sign never 2>/dev/null
gpgq "$G" --export > "$DIR/key.gpg" 2>/dev/null
gpgq "$DIR/gpgother" --export > "$DIR/other.gpg" 2>/dev/null
printf 'a message signed for the glass test\nsecond line\n' > "$DIR/msg.txt"
printf 'a message signed for the glass test\nsecond line!\n' > "$DIR/tampered.txt"
gpgq "$G" --detach-sign -o "$DIR/msg.txt.sig" "$DIR/msg.txt" 2>/dev/null
gpgq "$G" --clearsign -o "$DIR/msg.txt.asc" "$DIR/msg.txt" 2>/dev/null
gpgconf --homedir "$G" --kill gpg-agent 2>/dev/null || true
gpgconf --homedir "$DIR/gpgother" --kill gpg-agent 2>/dev/null || true
rm -rf "$DIR/gpgother" "$G"
mkdir -m 700 "$G"

# For dar.sh: a stand-in gpg that only answers gpgme's version question at dar's start-up.
mkdir -p "$DIR/gpgstub"
printf '#!/bin/sh\necho "gpg (GnuPG) 2.2.40"\n' > "$DIR/gpgstub/gpg"
chmod 755 "$DIR/gpgstub/gpg"
