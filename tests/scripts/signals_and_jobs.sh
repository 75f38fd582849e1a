# Signals to and from jobs: STOP/CONT of a background job, kill -0, wait on a non-child, a trapped USR1 interrupting a blocked read.
dir=tmp/signals_and_jobs
rm -rf "$dir"; mkdir -p "$dir"
sleep 0.2 &
p=$!
kill -STOP $p; echo "stop: $?"
kill -0 $p && echo "stopped job still exists"
kill -CONT $p; echo "cont: $?"
wait $p; echo "resumed job finished: $?"
kill -0 $p 2>/dev/null || echo "gone after wait"
wait 999999 2>/dev/null; echo "wait on a non-child: $?"
sh -c 'exit 3' & q=$!
sleep 0.1
wait $q; echo "already-finished job still reports: $?"
# The reader blocks in `read` on an empty pipe; USR1 arrives 0.1 s later, the data 0.4 s later.
{ sleep 0.4; echo payload; } | sh -c 'trap "echo reader: trap ran" USR1; echo started > '"$dir"'/ready; read -r x; echo "reader: read status $? got [$x]"; read -r y; echo "reader: second read got [$y] status $?"' &
r=$!
until [ -e "$dir/ready" ]; do sleep 0.05; done
sleep 0.1
kill -USR1 $(( r - 0 )) 2>/dev/null
wait $r; echo "reader pipeline: $?"
rm -rf "$dir"
