# zsh: functions, local scope, arrays (1-based), associative arrays, arithmetic, here-docs, read loops
fib() { local n=$1; if (( n < 2 )); then echo $n; else echo $(( $(fib $((n-1))) + $(fib $((n-2))) )); fi }
for i in 0 1 2 5 10 15; do printf 'fib(%d)=%s\n' $i $(fib $i); done

arr=(zero one "two words" three)
arr+=(four)
echo "len=${#arr} first=$arr[1] third=$arr[3] slice=${arr[2,3]}"
for i in {1..$#arr}; do echo "arr[$i]=$arr[$i]"; done
echo "reversed: ${(Oa)arr}"
echo "upper: ${(U)arr[2]} joined: ${(j:,:)arr}"

typeset -A color
color=(apple red banana yellow grape purple)
color[kiwi]=green
for k in ${(ko)color}; do echo "$k -> $color[$k]"; done
echo "has apple: ${+color[apple]} has pear: ${+color[pear]}"

echo "arith: $(( 7 * 6 )) $(( 2 ** 10 )) $(( -17 / 5 )) $(( -17 % 5 )) $(( 1 << 40 ))"
integer x=5; (( x += 3, x *= 2 )); echo "x=$x"
float f=1.5; (( f *= 3 )); echo "f=$f"
echo "hex: $(( [#16] 255 ))"

name=world
cat <<EOT
hello $name
sum $((1 + 2))
EOT
cat <<'EOT'
no $expansion here
EOT

total=0; lines=0
while IFS=: read -r user _ uid rest; do
    (( lines++, total += uid ))
    printf '%-6s %5d\n' $user $uid
done <<'EOT'
root:x:0:0
alice:x:1000:1000
bob:x:1001:1001
EOT
echo "lines=$lines total=$total"

s="The Quick Brown Fox"
echo "${s:l} ${s:u} ${s// /_} ${s#* } ${s%% *} ${#s}"
words=(${=s}); echo "split: ${#words} last=$words[-1]"
files=(a.txt b.c c.txt); echo "filtered: ${(M)files:#*.txt}"
setopt extendedglob
[[ abc123 == [a-z]##[0-9]## ]] && echo "extended glob matched"
[[ $s == (#b)*Q([a-z]##)\ * ]] && echo "backreference: $match[1]"
echo "done"
