# bash: process substitution (<(...) and >(...)), which names /dev/fd/N
cat <(printf 'a\nb\n') <(printf 'c\n'); echo "cat -> $?"
while read -r n; do echo "got $n"; done < <(seq 1 3)
echo hello > >(tr a-z A-Z); wait $!
paste <(echo left) <(echo right)
