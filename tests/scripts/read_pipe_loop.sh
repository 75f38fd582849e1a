# read loops over a pipe: the loop runs in a subshell (variables do not escape), IFS splitting, read -r, line counts.
count=0
cat data/records.csv | while IFS=, read -r id name city score year; do
    count=$((count + 1))
    [ "$id" = id ] && continue
    [ "$score" -ge 90 ] && echo "high: $name ($city) $score"
done
echo "count after pipe loop: $count"
count=0
while IFS=, read -r id rest; do count=$((count + 1)); done < data/records.csv
echo "count after redirected loop: $count"
total=$(sort -n data/numbers.txt | while read -r n; do echo "$n"; done | awk '{ s += $1 } END { print s }')
echo "total=$total"
grep -v '^#' data/settings.conf | grep '=' | while IFS=' =' read -r k v; do
    printf '%s -> %s\n' "$k" "$v"
done | sort | head -n 6
printf 'a b  c\n  lead\ttab\n' | while read -r x y; do echo "[$x] [$y]"; done
printf 'back\\slash\n' | while read line; do echo "no -r: $line"; done
printf 'back\\slash\n' | while read -r line; do echo "with -r: $line"; done
printf 'no newline at end' | { read -r last; echo "read status $? got: $last"; }
