# find … | sort | uniq -c: counts by extension, by directory and by type, with -name/-type/-maxdepth filters.
echo "== extensions =="
find data -type f | sed -n 's/.*\.\([^./]*\)$/\1/p' | sort | uniq -c
echo "== types under data/tree =="
find data/tree -exec stat -c '%F' {} \; | sort | uniq -c
echo "== top-level names =="
find data -maxdepth 1 | sort | uniq -c | awk '{ print $1, $2 }'
echo "== files per parent =="
find data -type f | awk -F/ 'NF > 2 { print $(NF-1) }' | sort | uniq -c | sort -k1,1nr -k2
echo "== names containing e =="
find data -name '*e*' -type f | sort | uniq -c | wc -l
echo "== repeats =="
sort data/repeats.txt | uniq -c | sort -rn | head -n 3
