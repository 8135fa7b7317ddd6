#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ksrc.sh [SERIES]: print the directory of Debian's linux-source-SERIES
# (default 6.1), extracted once into the cache (FINWAIT_CACHE, default
# /var/cache/finwait_stats). Used for the debug kernels, checkpatch.pl and
# kselftest_harness.h; nothing of it is copied into this repository.
set -euo pipefail
series=${1:-6.1}
cache=${FINWAIT_CACHE:-/var/cache/finwait_stats}
tarball=/usr/src/linux-source-$series.tar.xz
[ -r "$tarball" ] || { echo "ksrc: $tarball missing (package linux-source-$series)" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' "linux-source-$series")
src=$cache/linux-source-$srcver
mkdir -p "$cache"
exec 8>"$cache/.src-$series.lock"
flock 8
if [ ! -f "$src/.done" ]; then
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xf "$tarball" -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.done"
	mv "$src.tmp" "$src"
fi
echo "$src"
