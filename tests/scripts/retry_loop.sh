# Retry loop: functions with return codes, a counter in a file, until/while, $? inspection, || and &&.
dir=tmp/retry_loop
rm -rf "$dir"; mkdir -p "$dir"
echo 0 > "$dir/attempts"
flaky() {
    # succeeds on the third call
    n=$(($(cat "$dir/attempts") + 1))
    echo "$n" > "$dir/attempts"
    [ "$n" -ge 3 ] && return 0
    return $((10 + n))
}
retry() {
    max=$1; shift
    i=1
    while [ "$i" -le "$max" ]; do
        "$@"
        rc=$?
        if [ "$rc" -eq 0 ]; then
            echo "ok after $i attempt(s)"
            return 0
        fi
        echo "attempt $i failed with $rc"
        i=$((i + 1))
    done
    echo "giving up after $max"
    return 1
}
retry 5 flaky; echo "retry -> $?"
echo 0 > "$dir/attempts"
retry 2 flaky; echo "retry -> $?"
retry 3 false || echo "false never succeeds ($?)"
retry 1 grep -q lantern data/words.txt && echo "grep found it"
count=0
until [ "$count" -ge 4 ]; do count=$((count + 1)); done
echo "until loop reached $count"
rm -rf "$dir"
