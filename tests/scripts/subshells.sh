# Subshells: variable and cwd isolation, exit status of ( ), nested subshells, subshells in pipelines and $( ).
x=outer
( x=inner; echo "inside: $x" )
echo "outside: $x"
( cd data/tree && ls | sort | tr '\n' ' '; echo )
echo "cwd unchanged: $(ls -d data)"
( exit 5 ); echo "subshell exit: $?"
( ( ( exit 9 ) ); echo "innermost gave $?"; exit 2 ); echo "middle gave $?"
y=$( (echo one; echo two) | wc -l )
echo "lines from subshell pipeline: $y"
( echo a; echo b ) | ( while read -r l; do echo "got $l"; done )
(
    set -e
    echo "set -e only inside"
    false
    echo never
)
echo "after subshell with set -e: $?"
z=0
{ z=1; }
echo "brace group keeps assignment: $z"
( z=2 )
echo "subshell drops assignment: $z"
f() ( echo "function body is a subshell"; v=changed )
v=orig; f; echo "v=$v"
(umask 077; umask)
(trap 'echo sub trap' EXIT; exit 1); echo "status with trap: $?"
