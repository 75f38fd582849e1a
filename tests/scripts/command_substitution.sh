# Command substitution in many contexts: word splitting of results, for lists, case words, large outputs, exit status, arguments.
set -- $(echo "a b   c")
echo "split: $#"
set -- "$(echo "a b   c")"
echo "quoted: $# [$1]"
for w in $(head -n 3 data/words.txt); do echo "w=$w"; done
case $(echo hello) in hel*) echo "case on substitution" ;; esac
big=$(seq 1 5000)
echo "big: ${#big} chars, $(echo "$big" | wc -l) lines, last $(echo "$big" | tail -n 1)"
n=$(grep -c lantern data/words.txt); echo "count=$n status=$?"
m=$(grep -c zzzz data/words.txt); echo "count=$m status=$?"
echo "args: $(printf '%s,' $(seq 3))"
echo "$(echo one)$(echo two) $(echo three)"
printf '%s|' $(echo "x*" ) ; echo
echo "nested quotes: $(echo "$(echo 'single $HOME')")"
v=$(cat data/tree/alpha/list.txt)
echo "multi-line kept: $(echo "$v" | wc -l), flattened: $(echo $v)"
echo "stderr not captured: [$(ls data/missing 2>/dev/null)]"
echo "stderr captured: [$(ls data/missing 2>&1 | sed 's/^ls: //')]"
echo "empty: [$(true)]"
sum=0; for x in $(cut -d, -f4 data/records.csv | tail -n +2); do sum=$((sum + x)); done; echo "score sum $sum"
echo "arith of subst: $(( $(echo 6) * $(echo 7) ))"
