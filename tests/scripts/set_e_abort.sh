# set -e: exemptions (if, &&, ||, !, until), a failing function, then aborting with the failing command's status.
set -e
echo start
if false; then echo never; fi
false || echo "or-list rescues"
false && echo never
! true
echo "negation does not abort"
check() { grep -q "$1" data/words.txt; }
if check zzzz; then echo never; else echo "zzzz absent"; fi
while false; do :; done
x=$(echo inside; exit 0)
echo "substitution ok: $x"
(exit 0)
echo "before the failure"
sh -c 'exit 7'
echo "never printed"
