# File operations in tmp/: cp -r, mv of a directory, hard and symbolic links (nlink, modes shared by links), sed -i, mktemp, modes kept across mv, dd conv=notrunc, <> fds.
# The native run inherits the test runner's umask; modes are printed, so fix it.
umask 022
d=tmp/file_operations
rm -rf "$d"; mkdir -p "$d"
cp -r data/tree "$d/tree" && find "$d/tree" | sort | wc -l
mv "$d/tree" "$d/moved" && ls "$d"
echo hello > "$d/a"; ln "$d/a" "$d/hard"; echo "ln: $?"; cat "$d/hard"; stat -c '%h links' "$d/a"
echo "more" >> "$d/hard"; cat "$d/a"
ln -s a "$d/soft"; cat "$d/soft"; ls -1 "$d" | sort | tr '\n' ' '; echo
ln "$d/a" "$d/hard" 2>&1 | sed 's/^ln: //'; ln "$d/moved" "$d/dirlink" 2>/dev/null || echo "no hard links to directories"
rm "$d/a"; cat "$d/hard"; stat -c '%h link left' "$d/hard"
echo x > "$d/l1"; ln "$d/l1" "$d/l2"; chmod 700 "$d/l2"; stat -c '%n %a %h' "$d/l1"
mv "$d/l2" "$d/l3"; stat -c '%n %a %h' "$d/l1" "$d/l3"; [ "$(stat -c %i "$d/l1")" = "$(stat -c %i "$d/l3")" ] && echo "one inode"
mv "$d/l3" "$d/l1" 2>&1 | sed 's/^mv: //'; rm -f "$d/l3"; stat -c '%n %a %h' "$d/l1"; rm "$d/l1"
sed -i 's/hello/HELLO/' "$d/hard"; cat "$d/hard"; stat -c '%a after sed -i' "$d/hard"
chmod 751 "$d/hard"; mv "$d/hard" "$d/renamed"; stat -c '%a after mv' "$d/renamed"
t=$(mktemp -p "$d"); echo x > "$t"; ls "$d" | wc -l; rm "$t"
t=$(mktemp -d -p "$d"); [ -d "$t" ] && echo "mktemp -d ok"; rmdir "$t"
rm -r "$d/moved"; ls "$d" | tr '\n' ' '; echo
[ -e data/words.txt/ ] || echo "a file with a trailing slash does not exist"; [ -d data/tree/ ] && echo "a directory with one does"
echo data > "$d/f"; chmod 600 "$d/f"; stat -c '%a %s' "$d/f"; [ -r "$d/f" ] && echo readable; [ -x "$d/f" ] || echo "not executable"
truncate -s 100 "$d/f"; stat -c %s "$d/f"
dd if=data/blob.bin of="$d/blob" bs=1 skip=10 count=20 2>&1 | tail -n 1 | cut -d' ' -f1-2
cmp "$d/blob" data/blob.bin; echo "cmp $?"
echo abc | dd of="$d/blob" conv=notrunc bs=1 seek=2 2>/dev/null; od -c "$d/blob" | head -n 2
cat data/words.txt > "$d/w"; exec 5<>"$d/w"; read -r l <&5; echo "l=$l"; echo "XX" >&5; exec 5>&-; head -n 3 "$d/w"
mkdir -p "$d/x/y/z"; rmdir -p "$d/x/y/z" 2>&1 | sed 's/^rmdir: //'; ls "$d" | tr '\n' ' '; echo
tar -C data -cf - tree | tar -tf - | sort | head -n 3
gzip -c data/words.txt > "$d/w.gz"; gunzip -c "$d/w.gz" | cmp - data/words.txt && echo "gzip round trip"; zcat "$d/w.gz" | wc -l
( cd "$d" && echo "in $(basename "$PWD")"; cd .. && basename "$PWD" )
printf 'a\nb\n' > "$d/p1"; printf 'a\nc\n' > "$d/p2"; diff -u "$d/p1" "$d/p2" | tail -n 3
rm -rf "$d"
