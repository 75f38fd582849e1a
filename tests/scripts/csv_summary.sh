# CSV summary with awk: per-city counts/averages, min/max, a here-doc awk program, sort -t, while-read over a pipe.
echo "== per city =="
tail -n +2 data/records.csv | awk -F, '
    { n[$3]++; s[$3] += $4; if (!($3 in mx) || $4 > mx[$3]) mx[$3] = $4 }
    END { for (c in n) printf "%s %d %.1f %d\n", c, n[c], s[c] / n[c], mx[c] }' | sort | while read -r city n avg max; do
    printf '%-14s n=%-2s avg=%-5s max=%s\n' "$city" "$n" "$avg" "$max"
done
echo "== by year =="
cut -d, -f5 data/records.csv | tail -n +2 | sort | uniq -c | awk '{ print $2 ": " $1 }'
echo "== top three =="
tail -n +2 data/records.csv | sort -t, -k4,4nr -k1,1n | head -n 3 | cut -d, -f2,4 | tr ',' '\t'
prog=$(cat <<'AWK'
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{ sum += $col["score"]; if ($col["score"] >= 80) hi++ }
END { printf "rows=%d mean=%.2f high=%d\n", NR - 1, sum / (NR - 1), hi }
AWK
)
awk -F, "$prog" data/records.csv
header=$(head -n 1 data/records.csv)
IFS=,
set -- $header
echo "columns: $# first=$1 last=$5"
