# Pipelines of 3-5 stages with mixed applets, pipeline exit status ($? is the last stage), pipefail, ! pipelines.
sort -n data/numbers.txt | head -n 20 | tail -n 5 | tr '\n' ' '; echo
grep -v '^#' data/settings.conf | grep . | sed 's/ *= */=/' | cut -d= -f1 | sort | head -n 4
cut -d, -f3 data/records.csv | tail -n +2 | sort | uniq -c | sort -rn | head -n 2
awk '{ print $2 }' data/journal.log | sort | uniq -c | sort -k1,1nr -k2 | awk '{ printf "%s:%s ", $2, $1 }'; echo
seq 1 50 | awk '$1 % 7 == 0' | paste -s -d+ | tee /dev/null | bc
false | true | true; echo "last stage true: $?"
true | true | false; echo "last stage false: $?"
set -o pipefail
false | true | true; echo "pipefail, early failure: $?"
true | sh -c 'exit 4' | true; echo "pipefail, middle fails: $?"
set +o pipefail
! grep -q zzzz data/words.txt | cat; echo "negated: $?"
yes glass | head -n 3 | tr a-z A-Z | sed 's/$/!/' | cat -n
seq 1 20000 | grep 9 | wc -l
echo "a b c" | tr ' ' '\n' | tac | paste -s -d ,
