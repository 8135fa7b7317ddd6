#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo [FIN_TIMEOUT=5]: the stopped-peer experiment in a qemu guest
# running Debian's kernel with finwait_stats loaded (tools/demo-guest.sh):
# the article's nc/ss commands, then finwait scenario stopped-peer with the
# real FIN-WAIT-2 lifetime beside what ss and the tcp_set_state tracepoint
# report, then finwait stats. FIN_TIMEOUT above 60 shows the kernel's
# 2 x (tmo - 60) s rule and its two phases (70: about 20 s).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
fin=${FIN_TIMEOUT:-5}
case $fin in
''|*[!0-9]*) echo "demo: FIN_TIMEOUT must be whole seconds, got '$fin'" >&2; exit 2 ;;
esac
[ "$fin" -ge 1 ] && [ "$fin" -le 120 ] ||
	{ echo "demo: FIN_TIMEOUT must be 1..120, got $fin" >&2; exit 2; }

# shellcheck source=tools/vm/kernels.sh
. "$top/tools/vm/kernels.sh"
fw_kernel distro
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mod" "$work/payload"
cp -a "$top/Kbuild" "$top/VERSION" "$top/module" "$work/mod/"
echo "demo: building finwait_stats for $KREL and the finwait tool"
make -s -C "$KDIR" M="$work/mod" modules >/dev/null
cp -a "$top/tools/finwait" "$work/payload/finwait"
make -s -C "$work/payload/finwait" VERSION="$(cat "$top/VERSION")" finwait
cp "$top/tools/demo-guest.sh" "$work/payload/"
life=$fin
[ "$fin" -gt 60 ] && life=$((2 * (fin - 60)))
echo "demo: booting the guest; FIN-WAIT-2 will last about $life s (tcp_fin_timeout $fin s)"
cat >"$work/demo.sh" <<GUEST
modprobe finwait_stats || exit 1
exec bash /opt/finwait/demo-guest.sh /opt/finwait/finwait/finwait $fin
GUEST
exec "$top/tools/vm/run.sh" --kernel distro --modules "$work/mod" \
	--payload "$work/payload" --timeout $((300 + 2 * life)) "$work/demo.sh"
