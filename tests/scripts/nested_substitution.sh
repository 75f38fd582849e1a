# Nested command substitution and arithmetic: $( $( ) ), backquotes, $(( )) with substitutions inside, quoting.
a=$(echo $(echo $(echo deep)))
echo "a=$a"
b=`echo outer \`echo inner\``
echo "b=$b"
n=$(( $(wc -l < data/words.txt) * 2 + $(sort -u data/words.txt | wc -l) ))
echo "n=$n"
m=$(( ( $(head -n 1 data/numbers.txt) + $(tail -n 1 data/numbers.txt) ) % 1000 ))
echo "m=$m"
c="$(printf '%s\n' "two  spaces" | sed 's/  / _ /')"
echo "c=[$c]"
d=$(echo "$(echo "$(echo "quoted \"inner\" text")")")
echo "d=$d"
len=${#a}
echo "len=$len sum=$(( len + ${#b} + $(echo 3) ))"
i=0; acc=
while [ $i -lt 5 ]; do acc="$acc$(( i * i ))," ; i=$((i + 1)); done
echo "squares=$acc"
echo "hex=$(printf '%x' $(( 0x10 + 010 + 2#101 )))"
echo "fact=$( f() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(f $(( $1 - 1 ))) )); fi; }; f 10 )"
trailing=$(printf 'x\n\n\n')
echo "trailing newlines stripped: [$trailing]"
