# e2fsck: check clean ext2 and ext4 images, a damaged one read-only (-n), then repair a copy (-y)
# Run by busybox sh; the test made the images in tmp/debian-inputs with mke2fs and debugfs.
# $QEMU (empty, or qemu-aarch64 for the arm64 oracle) and $BIN say which e2fsck.
I=tmp/debian-inputs
S=tmp/e2fsck.$ARCH
rm -rf "$S"; mkdir -p "$S"
fsck() { $QEMU $BIN/e2fsck.static "$@"; }
for img in ext2.img ext4.img; do
    echo "== $img"
    fsck -f -n "$I/$img" 2>&1; echo "exit $?"
done
echo "== damaged.img, read-only"
fsck -f -n "$I/damaged.img" 2>&1; echo "exit $?"
echo "== damaged.img, repaired"
cp "$I/damaged.img" "$S/fix.img"
fsck -f -y "$S/fix.img" 2>&1; echo "exit $?"
echo "== repaired again"
fsck -f -n "$S/fix.img" 2>&1; echo "exit $?"
echo "== not a file system"
fsck -n "$I/../debian-inputs/msg.txt" 2>&1 | head -3; 
rm -rf "$S"
