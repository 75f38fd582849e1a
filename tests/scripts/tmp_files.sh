# Scratch files under tmp/: mkdir -p, cp, mv, rm, ln -s, sort -o, tee, diff, cmp, tar and gzip round trips.
dir=tmp/tmp_files
rm -rf "$dir"; mkdir -p "$dir/a/b/c"
cp data/words.txt "$dir/a/words"
sort "$dir/a/words" -o "$dir/a/sorted"
mv "$dir/a/sorted" "$dir/a/b/sorted"
head -n 5 data/words.txt | tee "$dir/a/b/c/five" | wc -l
ln -s ../words "$dir/a/b/link"
cat "$dir/a/b/link" | head -n 2
readlink "$dir/a/b/link"
find "$dir" | sort
diff "$dir/a/words" data/words.txt && echo "copy identical"
sed 's/lantern/LANTERN/' data/words.txt > "$dir/changed"
diff data/words.txt "$dir/changed" | grep '^[<>]'
cmp "$dir/a/words" "$dir/changed" > /dev/null || echo "cmp sees the change"
( cd "$dir" && tar cf ../tmp_files.tar a && tar tf ../tmp_files.tar | sort )
gzip -c data/records.csv | gunzip -c | md5sum | cut -d' ' -f1
md5sum < data/records.csv | cut -d' ' -f1
rm "$dir/a/b/c/five"; rmdir "$dir/a/b/c"; echo "rmdir: $?"
rmdir "$dir/a" 2>/dev/null || echo "rmdir non-empty fails"
[ -L "$dir/a/b/link" ] && echo "link still there"
printf 'x%.0s' $(seq 1 1000) > "$dir/big"; wc -c < "$dir/big"
truncate -s 10 "$dir/big"; wc -c < "$dir/big"
rm -rf "$dir" tmp/tmp_files.tar
[ -e tmp/tmp_files ] || [ -e tmp/tmp_files.tar ] || echo "scratch removed"
