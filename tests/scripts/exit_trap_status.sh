# EXIT trap sees the status that set -e aborted with; an EXIT trap in a function-set context; exit inside the trap overrides.
sh -c 'trap "echo trap sees \$?" EXIT; set -e; true; sh -c "exit 6"; echo never'; echo "outer got $?"
sh -c 'trap "echo in trap; exit 11" EXIT; exit 2'; echo "trap exit overrides: $?"
sh -c 'setup() { trap "echo function-set trap" EXIT; }; setup; echo body'; echo "status $?"
sh -c 'trap "echo normal end" EXIT'; echo "status $?"
sh -c 'trap "echo not on kill" EXIT; kill -KILL $$'; echo "killed: $?"
set -e
trap 'rc=$?; echo "final trap: status $rc"' EXIT
echo "main body"
grep -q nomatch data/words.txt
echo never
