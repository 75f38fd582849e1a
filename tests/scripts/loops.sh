# for/while/until loops: break/continue (with levels), loops over globs (and dir/*/ globs), seq, words, nested loops, loop status.
for w in $(head -n 6 data/words.txt); do printf '%s.' "$w"; done; echo
for f in data/tree/*; do echo "entry ${f#data/tree/}"; done
for d in data/tree/*/ data/*/; do echo "directory $d"; done
for f in data/tree/*.nothing; do echo "unmatched glob stays: $f"; done
i=0
while :; do
    i=$((i + 1))
    [ $i -eq 3 ] && continue
    [ $i -gt 6 ] && break
    printf '%d ' $i
done; echo
for a in 1 2 3; do
    for b in x y z; do
        [ $b = y ] && continue 2
        [ $a = 3 ] && break 2
        echo "$a$b"
    done
done
n=10; until [ $n -le 1 ]; do
    if [ $((n % 2)) -eq 0 ]; then n=$((n / 2)); else n=$((3 * n + 1)); fi
    printf '%d ' $n
done; echo
for x in; do echo never; done; echo "empty for status $?"
sum=0
for v in $(seq 1 100); do sum=$((sum + v)); done
echo "sum 1..100 = $sum"
set -- p q r
for arg; do echo "positional $arg"; done
while read -r a; do
    for c in $(echo "$a" | fold -w 1); do printf '%s-' "$c"; done; echo
done <<EOF
abc
de
EOF
k=0; while [ $k -lt 3 ]; do k=$((k + 1)); false; done; echo "while status $?"
