# Here-documents: with and without expansion, <<- tab stripping, here-doc into a loop, a function and a pipeline.
name=glass
count=$(wc -l < data/numbers.txt)
cat <<EOF
Hello $name, numbers has $count lines.
Arithmetic: $((count * 2)) and substitution: $(echo sub)
Escaped: \$name \`date\` backslash-newline \
joins lines.
EOF
cat <<'EOF'
Literal: $name $(echo no) `echo no` \$ \\
EOF
cat <<"EOF"
Also literal: $HOME
EOF
	cat <<-EOF
	tabs stripped for $name
		even two tabs
	EOF
while read -r key value; do
    echo "key=$key value=$value"
done <<EOF
alpha 1
beta two words
gamma $name
EOF
shout() { tr a-z A-Z; }
shout <<EOF | rev | sed 's/^/> /'
piped here-doc for $name
EOF
cat <<A; cat <<B
first doc
A
second doc
B
