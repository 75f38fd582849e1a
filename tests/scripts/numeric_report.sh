# Numeric report: awk floating point (mean, variance, Newton sqrt, %e/%g, rounding), percentiles via sort, bc big numbers, expr.
awk 'function root(v,   r, i) { r = v; for (i = 0; i < 60; i++) r = (r + v / r) / 2; return r }
     { n++; s += $1; ss += $1 * $1; if (n == 1 || $1 < mn) mn = $1; if (n == 1 || $1 > mx) mx = $1 }
     END {
        # (Debian'"'"'s busybox awk has no math library: sqrt by Newton iteration.)
        mean = s / n; var = ss / n - mean * mean; sd = root(var)
        printf "n=%d sum=%d min=%d max=%d\n", n, s, mn, mx
        printf "mean=%.6f var=%.4f sd=%.6f\n", mean, var, sd
        printf "e: %e %E g: %g %.10g\n", mean, var, sd, mean / 7
        printf "cv=%.3f%% z(max)=%.5f\n", sd * 100 / mean, (mx - mean) / sd
        printf "int/round: %d %d %.0f %.0f %.2f\n", int(-3.7), int(3.7), 2.5, 3.5, -0.005
     }' data/numbers.txt
n=$(wc -l < data/numbers.txt)
for pct in 10 50 90; do
    idx=$(( (n * pct + 99) / 100 ))
    echo "p$pct=$(sort -n data/numbers.txt | sed -n "${idx}p")"
done
awk -F, 'NR > 1 { printf "%s %.3f %5.1f%%\n", $1, $4 / 100, $4 * 100 / 99 }' data/records.csv | head -n 5
awk -F, 'NR > 1 { s[$3] += $4 * 1.5 / 7 } END { for (c in s) printf "%s %.12f\n", c, s[c] }' data/records.csv | sort
echo 'scale=20; sqrt(2); 1/3; scale=0; 2^100; 12345678901234567890 * 98765432109876543210' | bc
echo "obase=16; 255; 65535; ibase=2; 101010" | bc
expr "abc123def" : '[a-z]*\([0-9]*\)'
expr "hello" : '.*'
expr 100000 \* 100000 / 7 % 1000
printf '%.3f %08.2f %-8.1e| %x %o %#x\n' 3.14159 2.5 12345.678 3054 8 255
awk 'BEGIN { x = 0.1 + 0.2; printf "%.17g %d %.15g\n", x, x == 0.3, 1e300 * 1e10 }'
awk 'BEGIN { printf "%s %s %s\n", 1e6, 1e16, 123456789012 ; print 1/3, 100/3, 9007199254740992 + 1, -7 % 3 }'
