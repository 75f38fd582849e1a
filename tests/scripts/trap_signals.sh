# trap on TERM/INT/USR1 sent to the shell itself, trap in a loop, traps around a blocking wait, default exit 143.
dir=tmp/trap_signals
rm -rf "$dir"; mkdir -p "$dir"
cleanup() { echo "cleanup: removing $(ls "$dir" | wc -l) files"; rm -rf "$dir"; }
trap cleanup EXIT
trap 'echo "caught TERM"' TERM
trap 'echo "caught INT"' INT
kill -TERM $$
kill -INT $$
i=0
trap 'i=$((i + 1))' USR1
for n in 1 2 3 4 5; do kill -USR1 $$; done
echo "USR1 count: $i"
touch "$dir/a" "$dir/b"
sh -c 'trap "echo child caught USR1; exit 9" USR1; kill -USR1 $$; echo never'; echo "child status $?"
sh -c 'trap "" TERM; kill -TERM $$; echo "child ignored TERM"'
( trap 'echo "subshell TERM"; exit 4' TERM; sh -c 'kill -TERM $PPID'; echo never ); echo "subshell status $?"
sleep 5 &
sp=$!
trap 'echo "USR2 arrived during wait"' USR2
# The 0.2 s head start lets the shell reach `wait` first natively (under glass the schedule
# guarantees it): a signal that arrived earlier would run the trap before the wait instead.
( sleep 0.2; kill -USR2 $$ ) &
wait $sp
echo "wait interrupted: $?"
kill $sp 2>/dev/null
wait $sp 2>/dev/null
trap - TERM
# A shell killed by a signal runs no EXIT trap: clean up first.
cleanup; trap - EXIT
echo "exiting by TERM"
kill -TERM $$
echo never
