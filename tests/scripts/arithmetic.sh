# Shell arithmetic: operators, precedence, bases, comparisons, assignments, ternary, negative numbers, let.
echo $(( 1 + 2 * 3 )) $(( (1 + 2) * 3 )) $(( 17 / 5 )) $(( 17 % 5 )) $(( -17 / 5 )) $(( -17 % 5 ))
echo $(( 2 ** 10 )) $(( 1 << 12 )) $(( 4096 >> 3 )) $(( 0xff & 0x0f )) $(( 0xf0 | 0x0f )) $(( 6 ^ 3 ))
echo $(( 5 > 3 )) $(( 5 < 3 )) $(( 5 == 5 )) $(( 5 != 5 )) $(( !0 )) $(( ~0 ))
echo $(( 1 && 0 )) $(( 1 || 0 )) $(( 3 > 2 ? 10 : 20 ))
x=5
echo $(( x += 3 )) $(( x -= 1 )) $(( x *= 2 )) $(( x /= 3 )) $(( x %= 3 )) "x=$x"
y=7; echo $(( y++ )) $(( y )) $(( --y )) $(( y-- )) "y=$y"
echo $(( 0x1F )) $(( 017 )) $(( 8#17 )) $(( 16#ff )) $(( 2#1010 )) $(( 36#z ))
echo $(( 9223372036854775807 )) $(( -9223372036854775807 - 1 ))
a=3 b=4
echo "hyp^2=$(( a * a + b * b ))"
let "c = a * b" "d = c + 1"
echo "let: c=$c d=$d"
n=0
for v in $(head -n 20 data/numbers.txt); do n=$(( n + v )); done
echo "sum of first 20 numbers: $n"
echo "mean: $(( n / 20 )) remainder $(( n % 20 ))"
s=$(awk '{ s += $1 } END { print s }' data/numbers.txt)
echo "awk total $s, shell check $(( s == $(paste -s -d+ data/numbers.txt | bc) ))"
e=empty; echo "unset var is zero: $(( undefinedvar + 1 ))"
z="2 + 3"; echo "expanded expression: $(( z * 2 )) $(( $z * 2 ))"
