# Here-docs in functions, loops, subshells and files: quoted and unquoted delimiters, substitutions inside, here-doc to exec fd.
dir=tmp/heredoc_functions
rm -rf "$dir"; mkdir -p "$dir"
banner() {
    cat <<EOF
== $1 ($(echo "$1" | wc -c | tr -d ' ') bytes) ==
EOF
}
banner first
banner "second one"
for n in 1 2; do
    cat <<EOF
loop $n squared $((n * n))
EOF
done
cat > "$dir/script.sh" <<'EOF'
echo "generated script got $# args: $*"
echo "and its own \$0 tail: ${0##*/}"
EOF
sh "$dir/script.sh" x y z
exec 3> "$dir/fd3"
cat >&3 <<EOF
written through fd 3
EOF
exec 3>&-
cat "$dir/fd3"
( cat <<EOF
from a subshell: $(head -n 1 data/words.txt)
EOF
) | tr a-z A-Z
sort <<EOF | uniq -c
pear
apple
pear
EOF
x=$(cat <<EOF
captured $(echo here-doc)
EOF
)
echo "x=[$x]"
cat <<EOF | wc -l
$(seq 1 7)
EOF
read -r a b <<EOF
first second third
EOF
echo "a=$a b=$b"
rm -rf "$dir"
