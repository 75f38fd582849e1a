# zsh: traps (EXIT, USR1, TRAPZERR function), background jobs and wait with statuses, subshells
TRAPUSR1() { echo "got USR1" }
kill -USR1 $$
echo "after USR1"

( exit 3 ) & p1=$!
( sleep 0.1; exit 5 ) & p2=$!
wait $p1; echo "p1 -> $?"
wait $p2; echo "p2 -> $?"

for i in 1 2 3; do ( exit $i ) & done
wait; echo "wait all -> $?"

( sleep 5 ) & slow=$!
kill -TERM $slow
wait $slow; echo "killed -> $?"

TRAPZERR() { echo "zerr trap" }
false
unfunction TRAPZERR

out=$( { echo one; echo two >&2 } 2>&1 ); echo "captured: ${(f)out}"
x=outer; ( x=inner; echo "subshell x=$x" ); echo "parent x=$x"
false | true | (exit 4); echo "pipestatus: $pipestatus"
{ echo a; echo b } | while read l; do echo "piped $l"; done
trap 'echo "exit trap"' EXIT
exit 2
