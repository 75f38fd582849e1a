# Realistic log report over journal.log: counts per level and component, first/last error, awk histograms, here-doc header.
log=data/journal.log
cat <<EOF
Report for $log
lines: $(wc -l < "$log")
EOF
echo "-- per level:"
awk '{ print $2 }' "$log" | sort | uniq -c | sort -k1,1nr -k2 | while read -r n level; do
    printf '  %-6s %3d\n' "$level" "$n"
done
echo "-- per component (top 5):"
awk '{ sub(":", "", $3); print $3 }' "$log" | sort | uniq -c | sort -k1,1nr -k2 | head -n 5
echo "-- errors:"
grep ERROR "$log" | head -n 1 | cut -c1-40
grep ERROR "$log" | tail -n 1 | cut -c1-40
echo "-- by hour:"
cut -d: -f1 "$log" | uniq -c | awk '{ printf "  %s:00 %s\n", $2, $1 }'
echo "-- messages, most frequent:"
sed 's/^[^ ]* *[A-Z]* *[a-z]*: //; s/ (seq=[0-9]*)$//' "$log" | sort | uniq -c | sort -k1,1nr -k2 | head -n 4
warn=$(grep -c WARN "$log"); err=$(grep -c ERROR "$log")
echo "warn+error = $((warn + err)) ($(( (warn + err) * 100 / $(wc -l < "$log") ))%)"
