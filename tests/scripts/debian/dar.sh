# dar: create an archive of a tree the script makes, list it, test it, extract it and compare
# Run by busybox sh; $QEMU (empty, or qemu-aarch64 for the arm64 oracle) and $BIN say which dar.
set -e
S=tmp/dar.$ARCH
rm -rf "$S"; mkdir -p "$S/src/sub/deeper" "$S/out"
printf 'alpha\nbeta\n' > "$S/src/a.txt"
i=0; while [ $i -lt 2000 ]; do echo "line $i of a longer file"; i=$((i+1)); done > "$S/src/sub/long.txt"
printf '\000\001\002binary\377' > "$S/src/sub/deeper/bin.dat"
ln -s a.txt "$S/src/link"
: > "$S/src/empty"
# dar's gpgme start-up asks a gpg found through PATH for its version and gives up without
# one; no archive here is encrypted, so make-inputs.sh's stub, which only prints a version,
# stands in for it on both sides.
PATH=tmp/debian-inputs/gpgstub:$PATH
dar() { $QEMU $BIN/dar_static "$@"; }
echo "== create"
dar -Q -c "$S/arch" -R "$S/src" -z6 -an --fsa-scope none > "$S/create.log" 2>&1 || { echo "create failed: $?"; cat "$S/create.log"; }
grep -E 'inode|treated|saved|ignored' "$S/create.log" | sed 's/^ *//'
ls "$S" | grep arch
echo "== list"
dar -Q -l "$S/arch" -as 2>&1 | awk 'NR>2 {print $NF}' | sort
echo "== test"
dar -Q -t "$S/arch" > "$S/test.log" 2>&1; echo "test -> $?"
grep -E 'inode|treated|error' "$S/test.log" | sed 's/^ *//'
echo "== extract"
dar -Q -x "$S/arch" -R "$S/out" -O > "$S/x.log" 2>&1; echo "extract -> $?"
diff -r "$S/src" "$S/out" && echo "trees identical"
echo "== damaged archive"
cp "$S/arch.1.dar" "$S/bad.1.dar"
size=$(wc -c < "$S/bad.1.dar")
printf 'XXXXXXXXXXXXXXXX' | dd of="$S/bad.1.dar" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
if dar -Q -t "$S/bad" > "$S/bad.log" 2>&1; then echo "damage not noticed"; else echo "damage noticed"; fi
rm -rf "$S"
