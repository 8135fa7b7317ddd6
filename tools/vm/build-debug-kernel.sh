#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-debug-kernel.sh [debug|rtdebug]: build a debug guest kernel from
# Debian's kernel sources, tinyconfig plus config fragments:
#   debug     linux-source-6.1,  debug.config (KUnit, KASAN, lockdep,
#             kmemleak, ftrace, netns, IPv6, veth)
#   rtdebug   linux-source-6.12, debug.config + rt.config (PREEMPT_RT)
# The result is cached outside the work tree, keyed by the fragments and the
# source package version, so it is rebuilt only when one of them changes.
#
# Prints the build directory (usable as KDIR for M= module builds); the kernel
# image is $dir/arch/x86/boot/bzImage.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${FINWAIT_CACHE:-/var/cache/finwait_stats}
name=${1:-debug}
case $name in
debug) series=6.1 frags=("$here/debug.config") ;;
rtdebug) series=6.12 frags=("$here/debug.config" "$here/rt.config") ;;
*) echo "build-debug-kernel: unknown kernel '$name' (debug or rtdebug)" >&2; exit 2 ;;
esac

src=$("$here/ksrc.sh" "$series")
srcver=$(dpkg-query -W -f='${Version}' "linux-source-$series")
key=$( (echo "$srcver"; cat "${frags[@]}") | sha256sum | cut -c1-16)
out=$cache/$name-$key

mkdir -p "$cache"
exec 9>"$cache/.$name.lock"
flock 9

if [ -f "$out/.done" ]; then
	echo "$out"
	exit 0
fi

log=$cache/$name-$key.log
echo "build-debug-kernel: building $out (log: $log)" >&2
rm -rf "$out"
mkdir -p "$out"
{
	make -C "$src" O="$out" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}"
	make -C "$src" O="$out" olddefconfig
} >"$log" 2>&1

# merge_config only warns when a symbol did not stick: refuse such a kernel.
# A later fragment's line for a symbol overrides an earlier one's.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) sym=${line%%=*}
		grep -q "^$sym=" "$out/.config" && { echo "not off: $line" >&2; bad=1; } ;;
	CONFIG_*) grep -qx "$line" "$out/.config" || { echo "not set: $line" >&2; bad=1; } ;;
	esac
done < <(cat "${frags[@]}" | grep '^CONFIG_' | tac | awk -F= '!seen[$1]++')
[ $bad -eq 0 ] || { echo "build-debug-kernel: config fragment did not apply" >&2; exit 1; }

if ! make -C "$src" O="$out" -j"$(nproc)" bzImage modules >>"$log" 2>&1; then
	tail -30 "$log" >&2
	echo "build-debug-kernel: build failed, see $log" >&2
	exit 1
fi
touch "$out/.done"
# Keep one kernel of this name: drop those of older fragments or sources.
find "$cache" -maxdepth 1 -name "$name-*" ! -name "$name-$key" ! -name "$name-$key.log" \
	-exec rm -rf {} +
echo "$out"
