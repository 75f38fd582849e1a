# Background jobs: $!, wait PID with its status, wait with no args, jobs writing files, a killed sleep (143).
dir=tmp/background_jobs
rm -rf "$dir"; mkdir -p "$dir"
( sort data/words.txt > "$dir/sorted" ) &
a=$!
( sort -n data/numbers.txt > "$dir/numbers"; exit 3 ) &
b=$!
sh -c 'exit 5' &
c=$!
wait $a; echo "job a: $?"
wait $b; echo "job b: $?"
wait $c; echo "job c: $?"
head -n 3 "$dir/sorted"; tail -n 2 "$dir/numbers"
# `wait` prints "Terminated" only if the job is still unreaped when it starts, which races
# with the child's death (natively it usually loses; glass runs the signalled child at once
# and the shell reaps it before `wait`): the message is timing, so it goes to /dev/null.
sleep 10 &
s=$!
kill $s
wait $s 2>/dev/null; echo "killed sleep: $?"
sleep 10 &
s=$!
kill -USR2 $s
wait $s 2>/dev/null; echo "sleep killed by USR2: $?"
for i in 1 2 3 4; do ( echo "worker $i" > "$dir/w$i" ) & done
wait; echo "wait all: $?"
cat "$dir"/w1 "$dir"/w2 "$dir"/w3 "$dir"/w4
{ sleep 0; echo "brace job"; } > "$dir/brace" &
wait $!
cat "$dir/brace"
true &
wait $!; echo "true job: $?"
wait; echo "nothing left: $?"
rm -rf "$dir"
