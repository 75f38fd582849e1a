# File times, FIFOs, byte names, link counts: touch -d/-a/-m/-r, test -nt/-ot, mkfifo with a writer and a reader, a name with byte 0xff through ls/cat/argv/env, stat -c %h of directories.
dir=tmp/file_times
rm -rf "$dir"; mkdir -p "$dir"
# Times set with touch (utimensat), read back with stat and compared with test.
touch -d '2020-01-02 03:04:05' "$dir/old"
touch -d '2031-06-07 08:09:10' "$dir/new"
stat -c '%X %Y' "$dir/old" "$dir/new"
[ "$dir/new" -nt "$dir/old" ] && echo "new is newer than old"
[ "$dir/old" -ot "$dir/new" ] && echo "old is older than new"
[ "$dir/old" -nt "$dir/new" ] || echo "old is not newer than new"
# -m leaves the access time (UTIME_OMIT), -a the modification time.
touch -m -d '2021-01-01 00:00:00' "$dir/old"
stat -c '%X %Y' "$dir/old"
touch -a -d '2022-02-02 00:00:00' "$dir/old"
stat -c '%X %Y' "$dir/old"
touch -r "$dir/new" "$dir/copy"
stat -c '%Y' "$dir/copy"
# A write and a plain touch (UTIME_NOW) take the clock's time: after 2021, before 2031.
echo data > "$dir/written"
[ "$dir/written" -nt "$dir/old" ] && [ "$dir/written" -ot "$dir/new" ] && echo "written now"
touch "$dir/old"
[ "$dir/old" -nt "$dir/copy" ] && echo "touch moved old past copy" || echo "touch left old behind"
[ "$dir/old" -ot "$dir/new" ] && echo "touch set now"
# A FIFO: a writer in the background and a reader, then a reader first.
mkfifo "$dir/fifo"
[ -p "$dir/fifo" ] && echo "fifo is a FIFO"
stat -c '%F %s' "$dir/fifo"
ls -l "$dir/fifo" | cut -c1
( echo "through the fifo" > "$dir/fifo" ) &
cat "$dir/fifo"
wait
cat "$dir/fifo" > "$dir/got" &
printf 'line 1\nline 2\n' > "$dir/fifo"
wait
cat "$dir/got"
# A name holding byte 0xff: created, listed, opened, passed in argv and the environment.
name=$(printf 'a\377b')
echo "named with a byte" > "$dir/$name"
ls "$dir" | grep '^a' | od -An -tx1
cat "$dir/$name"
for f in "$dir"/a*; do printf '%s\n' "$f" | od -An -tx1; done
sh -c 'printf "%s" "$1" | od -An -tx1' sh "$name"
env "X=$name" sh -c 'printf "%s" "$X" | od -An -tx1'
# Link counts: 2 plus the subdirectories.
mkdir -p "$dir/d/s1" "$dir/d/s2/s3"; touch "$dir/d/f"
stat -c '%h' "$dir/d" "$dir/d/s1" "$dir/d/s2" data
rmdir "$dir/d/s1"
stat -c '%h' "$dir/d"
rm -rf "$dir"
[ -e "$dir" ] || echo "scratch removed"
