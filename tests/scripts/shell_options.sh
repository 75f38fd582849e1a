# Shell options: set -x tracing to stderr, set -u (nounset) errors, set -f (noglob), set -C (noclobber), set -o pipefail/-e listing.
dir=tmp/shell_options
rm -rf "$dir"; mkdir -p "$dir"
set -x
a=1
# (No traced pipelines: each stage traces itself to stderr concurrently, natively in any order.)
echo "traced $a"
v=$(echo "from a substitution")
f() { echo "in f $1"; }
f arg
set +x
echo "tracing off"
( set -u; echo "before"; echo "$undefined_var"; echo never ) 2>&1 | sed 's/^[^:]*: //'
echo "nounset subshell status: $( (set -u; : "$nope") 2>/dev/null; echo $?)"
set -u; echo "default still works: ${unset_thing:-ok}"; set +u
set -f
echo data/tree/*
set +f
echo data/tree/*
echo first > "$dir/file"
set -C
( echo second > "$dir/file" ) 2>&1 | sed 's/^[^:]*: //'
echo forced >| "$dir/file"
set +C
cat "$dir/file"
set -o pipefail; set -o | grep -E '^(pipefail|errexit|noclobber|nounset)'; set +o pipefail
sh -n -c 'if true; then echo x; fi' && echo "syntax ok"
sh -n -c 'if true; then' 2>/dev/null; echo "syntax error status $?"
echo "\$- has f: $(set -f; case $- in *f*) echo yes;; *) echo no;; esac)"
rm -rf "$dir"
