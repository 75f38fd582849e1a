# set -e in subshells, functions, command substitutions and pipelines; set +e; the script's final status.
(set -e; echo "sub: start"; false; echo never); echo "subshell stopped with $?"
f() { set -e; echo "f runs"; (exit 4); echo never; }
(f); echo "function in subshell stopped with $?"
set -e
r=$(set -e; echo partial; false; echo never) || echo "substitution failed: $? [$r]"
false | true
echo "pipeline with failing first stage continues"
g() { false; echo "g continues: set -e ignored in an && context"; }
g && echo "g returned $?"
set +e
false
echo "set +e: status $?"
set -e
grep -c Lowmere data/records.csv
count=$(grep -c zzzz data/words.txt || true)
echo "count=$count"
echo "aborting next"
grep -q zzzz data/words.txt
echo never
