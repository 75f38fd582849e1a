# Job pool: background jobs in batches of 3 with wait, wait PID statuses, a wait -n refilled pool; results collected in order.
dir=tmp/job_pool
rm -rf "$dir"; mkdir -p "$dir"
work() {
    # $1: job number; a small deterministic computation
    n=$1
    sum=$(seq 1 $((n * 10)) | awk '{ s += $1 } END { print s }')
    grep -c "$(sed -n "${n}p" data/words.txt)" data/words.txt > "$dir/count.$n"
    echo "job $n sum=$sum" > "$dir/out.$n"
    return $((n % 3))
}
running=0
for job in 1 2 3 4 5 6 7 8 9; do
    work "$job" &
    running=$((running + 1))
    if [ "$running" -eq 3 ]; then
        wait
        running=0
        echo "batch done after job $job"
    fi
done
wait
for job in 1 2 3 4 5 6 7 8 9; do
    printf '%s matches=%s\n' "$(cat "$dir/out.$job")" "$(cat "$dir/count.$job")"
done
# wait PID reports each job's own status
statuses=
for job in 4 5 6; do
    work "$job" &
    eval "pid_$job=\$!"
done
for job in 4 5 6; do
    eval "wait \$pid_$job"
    statuses="$statuses $?"
done
echo "statuses:$statuses"
# A pool of at most two running jobs, refilled with `wait -n` as each one ends.
running=0
for job in 1 2 3 4 5 6; do
    ( sleep "0.0$job"; echo "pooled $job" > "$dir/pool.$job" ) &
    running=$((running + 1))
    if [ "$running" -ge 2 ]; then wait -n; running=$((running - 1)); fi
done
wait
cat "$dir"/pool.* | paste -s -d ' '
ls "$dir" | sort | tr '\n' ' '; echo
rm -rf "$dir"
