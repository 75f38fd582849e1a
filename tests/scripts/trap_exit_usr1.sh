# trap on EXIT and on USR1/USR2 sent with kill -USR1 $$, trap in a subshell, trap reset, listing traps.
dir=tmp/trap_exit_usr1
mkdir -p "$dir"
trap 'echo "exit trap: status $?"; rm -rf "$dir"' EXIT
hits=0
trap 'hits=$((hits + 1)); echo "got USR1 ($hits)"' USR1
trap 'echo "got USR2"' USR2
kill -USR1 $$
echo "after first kill"
kill -USR1 $$
kill -USR2 $$
echo "hits=$hits"
trap
( trap 'echo "subshell exit trap"' EXIT; echo "in subshell" )
echo "subshell status $?"
trap - USR2
trap 'echo ignored' HUP
trap '' HUP
kill -HUP $$
echo "HUP ignored"
echo data > "$dir/file"
ls "$dir"
exit 3
