# 2>&1 ordering: "2>&1 >file" vs ">file 2>&1", stderr through pipes, 1>&2, order of interleaved writes, { } 2>&1.
dir=tmp/stderr_ordering
rm -rf "$dir"; mkdir -p "$dir"
both() { echo "out $1"; echo "err $1" >&2; }
both a > "$dir/f1" 2>&1
echo "-- >file 2>&1:"; cat "$dir/f1"
both b 2>&1 > "$dir/f2" | sed 's/^/piped: /'
echo "-- 2>&1 >file keeps only stdout in the file:"; cat "$dir/f2"
both c 2>&1 | sort -r
both d 2> /dev/null
both e 2>&1 1> /dev/null | tr a-z A-Z
{ both f; both g; } 2>&1 | cat -n
ls data/words.txt data/missing 2>&1 | sort
cat data/missing 2> "$dir/err"; echo "cat status $?"
sed 's/^[^:]*: //' "$dir/err"
echo "to stderr via 1>&2" 1>&2
( echo sub-out; echo sub-err >&2 ) 2>&1 | cat
for i in 1 2 3; do echo "o$i"; echo "e$i" >&2; done 2>&1 | paste -s -d ' '
rm -rf "$dir"
