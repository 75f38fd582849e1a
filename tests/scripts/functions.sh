# Functions: arguments and $#, local variables, recursion, return values vs output, functions redefined, "$@" forwarding.
greet() { echo "hello $1 ($# args)"; }
greet world
greet "two words" extra
count_args() { echo "$#"; }
set -- a "b c" d
echo "\$@ quoted: $(count_args "$@") unquoted: $(count_args $@) \$* quoted: $(count_args "$*")"
fib() {
    local n=$1
    if [ "$n" -lt 2 ]; then echo "$n"; return; fi
    local a b
    a=$(fib $((n - 1)))
    b=$(fib $((n - 2)))
    echo $((a + b))
}
echo "fib 12 = $(fib 12)"
depth=0
recurse() {
    local depth=$(( $1 + 1 ))
    [ "$depth" -lt 20 ] && recurse "$depth" && return
    echo "reached depth $depth"
}
recurse 0
echo "global depth still $depth"
is_even() { return $(( $1 % 2 )); }
for n in 3 4 7 10; do
    if is_even "$n"; then echo "$n even"; else echo "$n odd (status $?)"; fi
done
wrap() { "$@"; echo "wrapped status $?"; }
wrap sh -c 'exit 6'
wrap grep -c pebble data/words.txt
say() { echo first; }
say
say() { echo second; }
say
unset -f say
say 2>/dev/null || echo "say is gone ($?)"
counter=0
bump() { counter=$((counter + 1)); }
bump; bump; bump
echo "counter=$counter"
max() {
    m=$1; shift
    for v in "$@"; do [ "$v" -gt "$m" ] && m=$v; done
    echo "$m"
}
echo "max of numbers: $(max $(head -n 15 data/numbers.txt))"
