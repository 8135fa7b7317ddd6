#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug guest kernel from Debian's linux-source-6.1: tinyconfig plus
# debug.config (KUnit, KASAN, lockdep, kmemleak, ftrace, netns, IPv6, veth).
# The result is cached outside the work tree, keyed by the fragment and the
# source package version, so it is rebuilt only when either changes.
#
# Prints the build directory (usable as KDIR for M= module builds); the kernel
# image is $dir/arch/x86/boot/bzImage.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${FINWAIT_CACHE:-/var/cache/finwait_stats}
frag=$here/debug.config

src=$("$here/ksrc.sh")
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( (echo "$srcver"; cat "$frag") | sha256sum | cut -c1-16)
out=$cache/debug-$key

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

if [ -f "$out/.done" ]; then
	echo "$out"
	exit 0
fi

log=$cache/debug-$key.log
echo "build-debug-kernel: building $out (log: $log)" >&2
rm -rf "$out"
mkdir -p "$out"
{
	make -C "$src" O="$out" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag"
	make -C "$src" O="$out" olddefconfig
} >"$log" 2>&1

# merge_config only warns when a symbol did not stick: refuse such a kernel.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) sym=${line%%=*}
		grep -q "^$sym=" "$out/.config" && { echo "not off: $line" >&2; bad=1; } ;;
	CONFIG_*) grep -qx "$line" "$out/.config" || { echo "not set: $line" >&2; bad=1; } ;;
	esac
done <"$frag"
[ $bad -eq 0 ] || { echo "build-debug-kernel: config fragment did not apply" >&2; exit 1; }

if ! make -C "$src" O="$out" -j"$(nproc)" bzImage modules >>"$log" 2>&1; then
	tail -30 "$log" >&2
	echo "build-debug-kernel: build failed, see $log" >&2
	exit 1
fi
touch "$out/.done"
# Keep one debug kernel: drop those of older fragments or sources.
find "$cache" -maxdepth 1 -name 'debug-*' ! -name "debug-$key" ! -name "debug-$key.log" \
	-exec rm -rf {} +
echo "$out"
