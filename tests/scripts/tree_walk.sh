# Tree walk: find | sort, find | xargs wc, xargs -n, find -exec, per-directory file counts with uniq -c.
echo "== files =="
find data/tree -type f | sort
echo "== line counts =="
find data/tree -type f | sort | xargs wc -l
echo "== bytes, two files per wc =="
find data/tree -type f -name '*.txt' | sort | xargs -n 2 wc -c | grep -v total
echo "== files per directory =="
find data/tree -type f | sed 's,/[^/]*$,,' | sort | uniq -c
echo "== depth histogram =="
find data/tree | awk -F/ '{ print NF - 2 }' | sort -n | uniq -c
echo "== with -exec =="
find data/tree -name '*.env' -exec cat {} \;
echo "== total lines =="
find data/tree -type f -print | sort | xargs cat | wc -l
