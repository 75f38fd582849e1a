# bash: functions, local scope, indexed and associative arrays, arithmetic, here-docs and read loops
set -u
fib() { local n=$1; if (( n < 2 )); then echo "$n"; else echo $(( $(fib $((n-1))) + $(fib $((n-2))) )); fi; }
for i in 0 1 2 5 10 15; do printf 'fib(%d)=%s\n' "$i" "$(fib "$i")"; done

counter=0
bump() { local step=${1:-1}; counter=$(( counter + step )); }
bump; bump 5; bump -2; echo "counter=$counter"

arr=(zero one "two words" three)
arr+=(four)
echo "len=${#arr[@]} third=${arr[2]} slice=${arr[*]:1:2}"
for i in "${!arr[@]}"; do echo "arr[$i]=${arr[$i]}"; done
unset 'arr[1]'
echo "after unset: ${#arr[@]} keys=${!arr[*]}"

declare -A color=([apple]=red [banana]=yellow [grape]=purple)
color[kiwi]=green
for k in $(printf '%s\n' "${!color[@]}" | sort); do echo "$k -> ${color[$k]}"; done
echo "has apple: ${color[apple]+yes} has pear: ${color[pear]-no}"

echo "arith: $(( 7 * 6 )) $(( 2 ** 10 )) $(( -17 / 5 )) $(( -17 % 5 )) $(( 0x1f | 0100 )) $(( 1 << 40 ))"
x=5; (( x += 3, x *= 2 )); echo "x=$x"; let 'y = x > 10 ? 1 : 0'; echo "y=$y"
echo "big: $(( 9223372036854775807 + 1 ))"

name=world
cat <<EOT
hello $name
sum $((1 + 2))
	tab kept
EOT
cat <<'EOT'
no $expansion here
EOT
cat <<-EOT
	leading tabs stripped for $name
	EOT

total=0; lines=0
while IFS=: read -r user _ uid rest; do
    lines=$((lines + 1)); total=$((total + uid))
    printf '%-6s %5d\n' "$user" "$uid"
done <<'EOT'
root:x:0:0
daemon:x:1:1
alice:x:1000:1000
bob:x:1001:1001
EOT
echo "lines=$lines total=$total"

mapfile -t words <<< $'alpha\nbeta\ngamma'
echo "mapfile: ${#words[@]} ${words[2]}"
s="The Quick Brown Fox"
echo "${s,,} ${s^^} ${s// /_} ${s#* } ${s%% *} ${#s}"
printf -v padded '%08.3f' 3.14159; echo "printf -v: $padded"
case "$s" in *Quick*) echo "case: matched";; *) echo "case: no";; esac
[[ $s =~ ([A-Z])[a-z]+\ ([A-Z]) ]] && echo "regex: ${BASH_REMATCH[1]}${BASH_REMATCH[2]}"
echo "done"
