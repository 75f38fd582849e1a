# Parameter expansion: defaults, ${#}, prefix/suffix removal, substitution, substrings, IFS splitting and "$@".
path=data/tree/alpha/beta/notes.txt
echo "${path##*/} ${path#*/} ${path%/*} ${path%%/*} ${#path}"
file=${path##*/}; echo "stem=${file%.txt} ext=${file##*.}"
unset u; e=
echo "[${u:-default}] [${e:-empty-default}] [${e-set-but-empty}] [${u+set}] [${e+set}]"
echo "${u:=assigned} u=$u"
echo "${path/beta/BETA} ${path//a/A}"
s=abcdefgh
echo "${s:2:3} ${s:5} ${s: -3}"
list="one two  three"
set -- $list; echo "split into $#"
set -- "$list"; echo "quoted: $#"
IFS=:; set -- $(echo a:b::c); echo "IFS colon: $# [$3]"; unset IFS
csv=$(head -n 2 data/records.csv | tail -n 1)
old=$IFS; IFS=,; set -- $csv; IFS=$old
echo "fields: $# name=[$2] city=[$3]"
for w in "$@"; do printf '<%s>' "$w"; done; echo
printf '[%s]\n' "$*"
IFS=-; printf '[%s]\n' "$*"; unset IFS
v="  padded  "; echo "[$v] [$(echo $v)]"
( : ${missing:?is required} ) 2>&1 | sed 's/^.*: //'
echo "status of :? in subshell: $(( $( (: ${missing:?x}) 2>/dev/null; echo $?) ))"
n=5; echo "${n}th ${n}0 $((n))"
