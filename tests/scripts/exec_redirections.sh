# exec redirections: exec 3>file, exec 4<file, >&3, 3>&-, exec >file for the rest of a block, <> and >> appends.
dir=tmp/exec_redirections
rm -rf "$dir"; mkdir -p "$dir"
exec 3> "$dir/three"
echo "to fd 3" >&3
echo "again to fd 3" >&3
exec 3>&-
cat "$dir/three"
exec 4< data/words.txt
read -r first <&4
read -r second <&4
echo "read from fd 4: $first $second"
exec 4<&-
echo "closed fd 4: $(read -r x <&4 2>/dev/null && echo open || echo closed)"
exec 5>&1
exec > "$dir/stdout"
echo "captured line 1"
echo "captured line 2"
exec 1>&5 5>&-
echo "restored stdout; captured $(wc -l < "$dir/stdout") lines:"
cat "$dir/stdout"
echo one > "$dir/append"
echo two >> "$dir/append"
{ echo three; echo four; } >> "$dir/append"
cat "$dir/append"
exec 6<> "$dir/rw"
echo "via rw fd" >&6
exec 6>&-
cat "$dir/rw"
exec 7> "$dir/seq"
for i in 1 2 3; do echo "line $i" >&7; done
exec 7>&-
tail -n 1 "$dir/seq"
{ echo "group to stderr"; } 2>&1 >&2 | cat
: > "$dir/empty"
wc -c < "$dir/empty"
rm -rf "$dir"
