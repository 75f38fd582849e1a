# Large data through pipes and substitutions: many full 64 KiB pipe buffers, a >4 KiB here-doc (written by a forked child), 170 KB $(...).
# (Sizes are kept moderate: every byte is emulated, and the suite runs each script twice under glass.)
seq 1 60000 | awk '{ s += $1 } END { print s }'
seq 1 30000 | sort -rn | head -n 3 | paste -s -d ' '
yes 0123456789 | head -c 1000000 | wc -c
big=$(seq 1 30000)
echo "captured ${#big} bytes, last line $(echo "$big" | tail -n 1)"
cat <<EOF | wc -l
$(seq 1 2000)
EOF
cat <<EOF | md5sum | cut -d' ' -f1
$(seq 1 3000 | sed 's/$/ some padding text/')
EOF
seq 1 30000 | tee /dev/null | grep -c 7
i=0; while [ $i -lt 20 ]; do cat data/words.txt; i=$((i + 1)); done | sort | uniq -c | sort -rn | head -n 2
dd if=/dev/zero bs=4096 count=64 2>/dev/null | od -A d -t x1 | tail -n 2
seq 1 40000 | awk 'NR % 10000 == 0' | while read -r n; do echo "checkpoint $n"; done
awk 'BEGIN { for (i = 0; i < 5000; i++) printf "line %05d of the generated stream\n", i }' | sed -n '1p;$p'
