# xargs: default batching, -n, -I{}, -0 with find -print0, -t to stderr, exit status 123 when a command fails.
head -n 10 data/words.txt | xargs echo
head -n 10 data/words.txt | xargs -n 3 echo ":"
head -n 4 data/words.txt | xargs -I{} echo "word <{}> done"
find data/tree -type f -print0 | sort -z | xargs -0 wc -c | tail -n 1
printf 'one\ntwo\nthree\n' | xargs -t -n 1 echo 2>&1 | sort
echo "data/words.txt data/missing" | xargs cat > /dev/null 2>&1; echo "xargs with failure: $?"
printf 'lantern\nzzzz\n' | xargs -n 1 grep -c data/words.txt -e 2>/dev/null; echo "grep batch: $?"
seq 1 25 | xargs -n 10 | awk '{ print NF }'
echo "a b c" | xargs -n 1 sh -c 'echo "arg=$0"'
printf '' | xargs echo empty-input; echo "status $?"
find data -name '*.csv' | xargs grep -c Brackenford
