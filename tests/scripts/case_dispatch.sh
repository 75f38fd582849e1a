# case: globs, alternatives, character classes, fall-through defaults, case inside a function and a loop over a pipe.
classify() {
    case $1 in
        [0-9]|[0-9][0-9]) echo "small number" ;;
        -[0-9]*) echo "negative" ;;
        *[!0-9]*) echo "word" ;;
        *) echo "big number" ;;
    esac
}
for x in 7 42 -105 4832 lantern 3x ''; do
    printf '%-8s %s\n' "'$x'" "$(classify "$x")"
done
head -n 12 data/journal.log | while read -r time level rest; do
    case "$level" in
        ERROR|WARN) echo "attention: $time $level" ;;
        INFO) : ;;
        D*) echo "debug at $time" ;;
    esac
done
for f in data/tree/top.txt data/tree/zeta/vars.env data/tree/delta/README data/records.csv; do
    case ${f##*/} in
        *.txt) kind=text ;;
        *.env) kind=env ;;
        *.csv) kind=table ;;
        [A-Z]*) kind=upper ;;
    esac
    echo "$f: $kind"
done
case "a*b" in a\*b) echo "escaped star matches literally" ;; esac
case "abc" in "a*") echo "quoted glob wrong" ;; a*) echo "unquoted glob matches" ;; esac
case x in y) echo no ;; esac
echo "no-match case status $?"
