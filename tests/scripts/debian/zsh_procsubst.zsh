# zsh: process substitution <(...) (via /dev/fd/N) and =(...) (a temporary file)
cat <(print -l a b) <(print c); echo "cat -> $?"
while read -r n; do echo "got $n"; done < <(print -l 1 2 3)
cat =(print "from a temp file")
