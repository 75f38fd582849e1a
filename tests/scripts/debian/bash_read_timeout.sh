# bash: read -t on a pipe that stays silent times out (pselect6), then reads what arrives
{ sleep 1; echo late; } | { if read -r -t 0.2 v; then echo "early: $v"; else echo "timed out ($?)"; fi; read -r v; echo "then: $v"; }
