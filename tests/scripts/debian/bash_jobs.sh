# bash: traps (EXIT, USR1, ERR, RETURN), background jobs and wait with statuses, subshells
trap 'echo "got USR1"' USR1
kill -USR1 $$
echo "after USR1"

( exit 3 ) & p1=$!
( sleep 0.1; exit 5 ) & p2=$!
sh -c 'exit 7' & p3=$!
wait $p1; echo "p1 -> $?"
wait $p2; echo "p2 -> $?"
wait $p3; echo "p3 -> $?"

for i in 1 2 3 4; do ( echo "job $i"; exit $i ) > /dev/null & done
wait; echo "wait all -> $?"

( sleep 5 ) & slow=$!
kill -TERM $slow
wait $slow; echo "killed -> $?"

f() { trap 'echo "return trap in f"' RETURN; echo "in f"; }
f; trap - RETURN

set -o errtrace
trap 'echo "ERR trap at line $LINENO"' ERR
false
trap - ERR

out=$( { echo one; echo two >&2; } 2>&1 ); echo "captured: $out" | tr '\n' ' '; echo
x=outer; ( x=inner; echo "subshell x=$x" ); echo "parent x=$x"
{ echo "group"; } | cat
echo "pipestatus:"; false | true | (exit 4); echo "${PIPESTATUS[*]}"
coproc CAT { cat; }
echo "through coproc" >&"${CAT[1]}"
read -r line <&"${CAT[0]}"; echo "coproc said: $line"
exec {CAT[1]}>&-
wait "$CAT_PID"; echo "coproc exit $?"
trap 'echo "exit trap, status $?"' EXIT
exit 2
