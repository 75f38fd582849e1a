# Word-frequency report: a 5-stage pipeline (tr | sort | uniq -c | sort | head), functions, command substitution.
report() {
    # $1: how many rows
    tr 'A-Z' 'a-z' < data/words.txt | tr -cs 'a-z' '\n' | sort | uniq -c | sort -k1,1nr -k2,2 | head -n "$1"
}
total=$(wc -l < data/words.txt)
distinct=$(sort -u data/words.txt | wc -l)
echo "words: $total distinct: $distinct"
echo "top ten:"
report 10 | while read -r count word; do
    printf '%-12s %3d %s\n' "$word" "$count" "$(printf '%*s' "$count" '' | tr ' ' '#')"
done
echo "singletons: $(sort data/words.txt | uniq -u | wc -l)"
echo "longest: $(awk '{ print length($0), $0 }' data/words.txt | sort -k1,1nr -k2 | head -n 3 | cut -d' ' -f2 | tr '\n' ' ')"
echo "by first letter:"
cut -c1 data/words.txt | sort | uniq -c | sort -k1,1nr -k2 | head -n 5 | awk '{ printf "  %s=%d\n", $2, $1 }'
