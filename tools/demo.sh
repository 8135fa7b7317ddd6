#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo [FIN_TIMEOUT=5]: the stopped-peer experiment in a qemu guest
# running Debian's kernel, with nc and ss as the article does it:
#
#   server: nc -l        (then stopped, as Ctrl+Z would: it never close()s)
#   client: nc           (then Ctrl+C: close(), the socket is orphaned)
#
# The client's socket sits in FIN-WAIT-2 until tcp_fin_timeout expires.
# ss -o shows the countdown; /proc/net/finwait_stats records the lifetime.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
fin=${FIN_TIMEOUT:-5}
case $fin in
''|*[!0-9]*) echo "demo: FIN_TIMEOUT must be whole seconds, got '$fin'" >&2; exit 2 ;;
esac
[ "$fin" -ge 1 ] && [ "$fin" -le 60 ] || { echo "demo: FIN_TIMEOUT must be 1..60" >&2; exit 2; }

# shellcheck source=tools/vm/kernels.sh
. "$top/tools/vm/kernels.sh"
fw_kernel distro
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mod"
cp -a "$top/Kbuild" "$top/VERSION" "$top/module" "$work/mod/"
echo "demo: building finwait_stats for $KREL"
make -s -C "$KDIR" M="$work/mod" modules >/dev/null

cat >"$work/demo-guest.sh" <<GUEST
fin=$fin
GUEST
cat >>"$work/demo-guest.sh" <<'GUEST'
show() { grep -E '^(fin_timeout_ms|current|entered|left_|lifetime_)' /proc/net/finwait_stats | sed 's/^/    /'; }
modprobe finwait_stats
sysctl -qw net.ipv4.tcp_fin_timeout=$fin
echo "== net.ipv4.tcp_fin_timeout = $fin s; /proc/net/finwait_stats before:"
show
nc -l -d 127.0.0.1 8080 >/dev/null & srv=$!
until ss -Htln '( sport = :8080 )' | grep -q .; do sleep 0.1; done
# With job control on, a background job takes SIGINT as a foreground nc would.
set -m
nc -d 127.0.0.1 8080 & cli=$!
set +m
until ss -Htn state established '( dport = :8080 )' | grep -q .; do sleep 0.1; done
echo "== connected:"
ss -tn '( sport = :8080 or dport = :8080 )' | sed 's/^/    /'
echo "== server stopped (kill -STOP $srv, as Ctrl+Z), client closes (kill -INT $cli, as Ctrl+C)"
kill -STOP $srv
kill -INT $cli
t0=$(date +%s.%N)
wait $cli 2>/dev/null
while :; do
	line=$(ss -Htno state fin-wait-2 '( dport = :8080 )')
	[ -n "$line" ] || break
	printf '  t=%4.1fs  FIN-WAIT-2  %s\n' "$(echo "$(date +%s.%N) $t0" | awk '{ print $1 - $2 }')" "$(echo $line)"
	sleep 1
done
echo "== gone from FIN-WAIT-2 after $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s (ss polled every second)"
echo "== /proc/net/finwait_stats after:"
show
kill -KILL $srv
GUEST
exec "$top/tools/vm/run.sh" --kernel distro --modules "$work/mod" --timeout 300 "$work/demo-guest.sh"
