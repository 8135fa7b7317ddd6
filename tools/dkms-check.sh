#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-check.sh KREL OUTDIR: the DKMS round trip in a private tree (the
# host's DKMS tree and /lib/modules are not touched): add, build and install
# for KREL, copy the installed module to OUTDIR (for a guest to modprobe),
# remove, and check that nothing is left behind.
set -euo pipefail
krel=$1 outdir=$2
top=$(cd "$(dirname "$0")/.." && pwd)
ver=$(cat "$top/VERSION")
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/tree" "$t/src" "$t/lib/modules/$krel"
src=$t/src/finwait_stats-$ver
mkdir -p "$src"
cp -a "$top/Kbuild" "$top/Makefile" "$top/VERSION" "$top/dkms.conf" "$top/module" "$src/"
dt=(dkms --dkmstree "$t/tree" --sourcetree "$t/src" --installtree "$t/lib/modules")
d=("${dt[@]}" -k "$krel")
"${d[@]}" add -m finwait_stats -v "$ver"
"${d[@]}" build -m finwait_stats -v "$ver"
"${d[@]}" install -m finwait_stats -v "$ver"
ko=$(find "$t/lib/modules/$krel" -name 'finwait_stats.ko*' | head -1)
[ -n "$ko" ] || { echo "dkms-check: no installed module" >&2; exit 1; }
modinfo -F version "$ko" | grep -qx "$ver" || { echo "dkms-check: wrong version in $ko" >&2; exit 1; }
echo "installed: $ko"
cp "$ko" "$outdir/"
"${dt[@]}" remove -m finwait_stats -v "$ver" --all
left=$(find "$t/lib/modules" "$t/tree" -name 'finwait_stats*')
[ -z "$left" ] || { echo "dkms-check: left behind: $left" >&2; exit 1; }
echo "dkms round trip ok"
