# Word index over data/tree: find | xargs grep -l, per-word file counts, for loops over command output, sort | uniq -c.
files=$(find data/tree -type f | sort)
echo "files: $(echo "$files" | wc -l)"
for w in tree notes one epsilon delta; do
    n=$(echo "$files" | xargs grep -l -w "$w" | wc -l)
    echo "$w: $n file(s)"
done
echo "-- all words, counted:"
echo "$files" | xargs cat | tr -cs 'a-zA-Z' '\n' | tr A-Z a-z | grep . | sort | uniq -c | sort -k1,1nr -k2 | head -n 8
echo "-- files with more than one line:"
for f in $files; do
    [ "$(wc -l < "$f")" -gt 1 ] && echo "$f"
done
echo "-- grep -c per file:"
echo "$files" | xargs grep -c e | sort -t: -k2,2nr -k1,1 | head -n 4
