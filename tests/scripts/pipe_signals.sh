# SIGPIPE through pipelines: yes | head, pipefail reports 141, large producers cut short, a writer ignoring SIGPIPE.
yes abc | head -n 2
set -o pipefail
yes | head -n 1 > /dev/null; echo "yes|head with pipefail: $?"
seq 1 1000000 | head -n 1; echo "seq|head: $?"
set +o pipefail
cat data/words.txt data/words.txt data/words.txt | head -n 1
sh -c 'trap "" PIPE; yes 2>/dev/null; echo "yes returned $?" >&2' 2>&1 | head -n 1
(sh -c 'trap "" PIPE; yes 2>/dev/null; echo "yes returned $?" >&2' | head -n 1) 2>&1 | tail -n 1
sh -c 'seq 1 100000; echo "after seq $?" >&2' 2>&1 | head -n 3
yes x | head -c 10 | wc -c
