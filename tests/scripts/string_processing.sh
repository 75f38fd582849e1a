# Text processing pipelines: sed (hold space, ranges, -n p), awk (printf, arrays, split), tr classes, cut, rev, fold.
sed -n '1!G;h;$p' data/repeats.txt | head -n 5
sed -n '/^\[database\]/,/^\[/p' data/settings.conf | grep -v '^\['
awk -F, 'NR > 1 { split($2, parts, " "); print toupper(substr(parts[2], 1, 1)) tolower(substr(parts[2], 2)) ", " parts[1] }' data/records.csv | sort | head -n 5
tr -d '[:digit:]' < data/journal.log | tr -s '[:space:]' ' ' | cut -c1-60
echo "Hello, World" | tr '[:lower:][:upper:]' '[:upper:][:lower:]' | rev
head -c 100 data/words.txt | tr '\n' ' ' | fold -w 25; echo
awk 'BEGIN { while ((getline line < "data/numbers.txt") > 0) { if (line < 0) neg++; else pos++ } printf "neg=%d pos=%d\n", neg, pos }'
printf '%s\n' one two three four | sed -e '2d' -e 's/^t/T/' -e '$a\' -e 'appended'
printf 'k1=v1;k2=v2;k3=v3\n' | tr ';' '\n' | awk -F= '{ printf "%s:%s%s", $2, $1, (NR < 3 ? "," : "\n") }'
sed = data/usertests.txt | sed 'N; s/\n/: /'
echo "abc def ghi" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "\n") }'
grep -o '[0-9][0-9]*' data/settings.conf | sort -n | tail -n 3 | paste -s -d ' '
