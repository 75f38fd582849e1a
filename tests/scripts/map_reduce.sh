# Map-reduce with background jobs: awk splits records by city into files, parallel sort/sum jobs, wait, merge with sort -m.
dir=tmp/map_reduce
rm -rf "$dir"; mkdir -p "$dir/parts" "$dir/out"
tail -n +2 data/records.csv | awk -F, -v d="$dir/parts" '{ print > (d "/" $3) }'
ls "$dir/parts" | sort | tr '\n' ' '; echo
pids=
for part in "$dir"/parts/*; do
    city=${part##*/}
    ( sort -t, -k4,4nr "$part" > "$dir/out/$city.sorted"
      awk -F, '{ s += $4 } END { print s, NR }' "$part" > "$dir/out/$city.sum" ) &
    pids="$pids $!"
done
n=0; for p in $pids; do wait "$p" && n=$((n + 1)); done
echo "jobs finished: $n"
for s in "$dir"/out/*.sum; do
    read -r total count < "$s"
    c=${s##*/}; c=${c%.sum}
    echo "$c total=$total count=$count best=$(head -n 1 "$dir/out/$c.sorted" | cut -d, -f2)"
done
sort -m -t, -k1,1n "$dir"/out/*.sorted > "$dir/merged"
echo "merged lines: $(wc -l < "$dir/merged")"
cut -d, -f1 "$dir/merged" | sort -n | paste -s -d ' '
( cd "$dir/out" && ls *.sorted | xargs -n 1 -P 3 sh -c 'wc -l < "$0" > "$0.lines"' && cat *.lines | paste -s -d+ | bc )
rm -rf "$dir"
