#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-kernel.sh NAME: fetch kernel NAME of kernels.list into the cache
# (FINWAIT_CACHE, default /var/cache/finwait_stats) and print its directory,
# whose file "env" sets KREL, KIMAGE, KDIR, KCHROOT, KMAKE, KVERSION and
# KMODROOT for kernels.sh.
#
# The newest version of the kernel in its suites is resolved each time, with
# apt's own tools under a private configuration (APT_CONFIG: the host's apt
# sources, lists, hooks and dpkg database are not used or changed); the
# packages are fetched with "apt-get download" and unpacked with "dpkg -x"
# into the cache, never installed. A kernel whose headers need another
# suite's compiler gets them installed in that suite's chroot (mkchroot.sh),
# which builds its modules.
# Only when the archive cannot be reached (a network error) is the newest
# cached version used, and that is said on stderr.
# FINWAIT_NO_REFRESH=1: use the newest cached version without asking the
# archive (the guest of a run that has just resolved it), fetch if none.
# FINWAIT_KERNEL_LIST= reads another table (the test bed's own tests).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${FINWAIT_CACHE:-/var/cache/finwait_stats}
mirror=${FINWAIT_MIRROR:-http://deb.debian.org}
name=${1:?usage: fetch-kernel.sh NAME}
list=${FINWAIT_KERNEL_LIST:-$here/kernels.list}
die() { echo "fetch-kernel: $name: $*" >&2; exit 1; }

line=$(awk -v n="$name" '!/^#/ && $1 == n' "$list")
[ -n "$line" ] || die "unknown kernel ($list has: $(awk '!/^#/ && NF { printf "%s ", $1 }' "$list"))"
read -r _ build suites abire <<<"$line"
mkdir -p "$cache/kernels"

# The newest complete cached version of this kernel, or nothing.
newest_cached() {
	local d v best='' bestv=''
	for d in "$cache/kernels/$name"-*/; do
		[ -f "$d/.done" ] || continue
		# shellcheck disable=SC1091
		v=$(. "$d/env" && echo "$KVERSION")
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$bestv"; then
			best=${d%/} bestv=$v
		fi
	done
	echo "$best"
}

# The chroot for a chroot:SUITE kernel, with the headers of ABI=VERSION in
# it (installed by the chroot's apt under an exclusive lock; builds hold it
# shared, so that no build runs while apt changes the toolchain).
chroot_headers() {
	local suite=${build#chroot:} ch
	ch=$("$here/mkchroot.sh" "$suite" 2>"$cache/chroot-$suite.err") ||
		die "no $suite chroot: $(tail -1 "$cache/chroot-$suite.err")"
	exec 8>"$cache/.chroot-$suite.lock"
	flock 8
	if [ ! -f "$ch/usr/src/linux-headers-$1/Makefile" ]; then
		{
			chroot "$ch" apt-get -qq update &&
			DEBIAN_FRONTEND=noninteractive chroot "$ch" apt-get -qq install -y \
				--no-install-recommends xz-utils zstd &&
			DEBIAN_FRONTEND=noninteractive chroot "$ch" apt-get -qq install -y \
				--no-install-recommends -t "$last" "linux-headers-$1=$2"
		} >"$ch.install.log" 2>&1 ||
			die "installing linux-headers-$1 $2 in the $suite chroot failed: $(tail -1 "$ch.install.log")"
	fi
	flock -u 8
	echo "$ch"
}

IFS=, read -ra slist <<<"$suites"
last=${slist[-1]%@*}

if [ "${FINWAIT_NO_REFRESH:-0}" = 1 ]; then
	d=$(newest_cached)
	if [ -n "$d" ]; then
		# shellcheck disable=SC1091
		[ "$build" = host ] || [ -f "$(. "$d/env" && echo "$KDIR")/Makefile" ] ||
			die "the chroot lost the headers of the cached $(basename "$d"); run without FINWAIT_NO_REFRESH"
		echo "$d"
		exit 0
	fi
fi

# A private apt for these suites, shared by the kernels that use them.
aptdir=$cache/apt/$(echo "$suites" | tr -c 'A-Za-z0-9\n' _)
mkdir -p "$aptdir/none" "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
exec 9>"$aptdir/.lock"
flock 9
: >"$aptdir/sources.list"
for s in "${slist[@]}"; do
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
		"$mirror/${s#*@} ${s%@*} main" >>"$aptdir/sources.list"
done
{
	echo "Dir::Etc::main \"$aptdir/none/apt.conf\";"
	echo "Dir::Etc::parts \"$aptdir/none\";"
	echo "Dir::Etc::sourcelist \"$aptdir/sources.list\";"
	echo "Dir::Etc::sourceparts \"$aptdir/none\";"
	echo "Dir::Etc::preferences \"$aptdir/none/preferences\";"
	echo "Dir::Etc::preferencesparts \"$aptdir/none\";"
	echo "Dir::State::lists \"$aptdir/lists\";"
	echo "Dir::State::status \"/dev/null\";"
	echo "Dir::Cache \"$aptdir/cache\";"
	echo 'APT::Architecture "amd64";'
	echo 'Acquire::Languages "none";'
	echo 'Acquire::Check-Valid-Until "false";'
	# The host's proxy, if it has one: the only host setting kept.
	apt-config dump 2>/dev/null | grep -Ei '^Acquire::[a-z]+::Proxy ' || true
} >"$aptdir/apt.conf"
export APT_CONFIG=$aptdir/apt.conf
aptc() { apt-cache "$@"; }

# --error-on=any: without it apt-get update exits 0 when it could not
# reach the archive, and the old lists (or none) are used silently.
if ! apt-get -qq --error-on=any update >"$aptdir/update.log" 2>&1; then
	why=$(grep -m1 '^E:' "$aptdir/update.log" || true)
	d=$(newest_cached)
	if [ -n "$d" ] && grep -Eq 'Could not resolve|Temporary failure|Could not connect|timed out|Network is unreachable' "$aptdir/update.log"; then
		echo "fetch-kernel: $name: the archive cannot be reached ($why); using the cached $(basename "$d")" >&2
		echo "$d"
		exit 0
	fi
	die "apt-get update for ${slist[*]} failed: ${why:-$(tail -1 "$aptdir/update.log")}"
fi

best='' bestv=''
for p in $(aptc pkgnames linux-headers- | grep -E "^linux-headers-($abire)\$" || true); do
	v=$(aptc show --no-all-versions "$p" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
	[ -n "$v" ] || continue
	if [ -z "$bestv" ] || dpkg --compare-versions "$v" gt "$bestv"; then
		best=$p bestv=$v
	fi
done
[ -n "$best" ] || die "no package linux-headers-($abire) in ${slist[*]}"
abi=${best#linux-headers-}
dir=$cache/kernels/$name-$(echo "$bestv" | tr -c 'A-Za-z0-9.\n' _)
if [ -f "$dir/.done" ]; then
	[ "$build" = host ] || chroot_headers "$abi" "$bestv" >/dev/null
	echo "$dir"
	exit 0
fi

echo "fetch-kernel: $name: fetching $abi $bestv" >&2
rm -rf "$dir"
mkdir -p "$dir/debs" "$dir/root"
has() { aptc show --no-all-versions "$1" >/dev/null 2>&1; }
pkgs=()
for p in "linux-image-$abi-unsigned" "linux-binary-unsigned-$abi"; do
	has "$p" && { pkgs+=("$p"); break; }
done
[ ${#pkgs[@]} -eq 1 ] || die "no unsigned image package for $abi"
for p in "linux-modules-$abi" "linux-base-$abi"; do
	has "$p" && pkgs+=("$p")
done
if [ "$build" = host ]; then
	# The headers and the kbuild programs they name, two levels deep.
	hdr=("$best")
	for _ in 1 2; do
		for p in $(aptc depends --no-recommends --no-suggests "${hdr[@]}" |
			awk '$1 == "Depends:" && $2 ~ /^linux-(headers|kbuild)-/ { print $2 }' | sort -u); do
			[[ " ${hdr[*]} " == *" $p "* ]] || hdr+=("$p")
		done
	done
	pkgs+=("${hdr[@]}")
fi
(cd "$dir/debs" && apt-get -qq download "${pkgs[@]}") >"$dir/fetch.log" 2>&1 ||
	die "apt-get download failed: $(tail -1 "$dir/fetch.log")"
for deb in "$dir"/debs/*.deb; do
	dpkg -x "$deb" "$dir/root"
done
rm -rf "$dir/debs"
root=$dir/root
# Merged-/usr packages (7.x) keep modules under usr/lib.
[ -e "$root/lib" ] || ln -s usr/lib "$root/lib"

krel='' kimage=''
for d in "$root"/lib/modules/*/kernel; do
	[ -d "$d" ] && krel=$(basename "$(dirname "$d")")
done
[ -n "$krel" ] || die "no lib/modules/<release>/kernel in the image packages"
for f in "$root/boot/vmlinuz-$krel" "$root/lib/modules/$krel"/vmlinuz*; do
	[ -f "$f" ] && kimage=$f
done
[ -n "$kimage" ] || die "no kernel image for $krel in the image packages"
depmod -b "$root" "$krel" || die "depmod failed"

kchroot='' kmake='' knote=''
if [ "$build" = host ]; then
	kdir=$root/usr/src/linux-headers-$abi
	[ -f "$kdir/Makefile" ] || die "no $kdir/Makefile"
	# The headers name their other half and the kbuild programs by absolute
	# paths: point those into this tree.
	find "$root" -type l -lname '/*' | while read -r l; do
		ln -sfn "$root$(readlink "$l")" "$l"
	done
	sed -i "s|/usr/src/|$root/usr/src/|g" "$kdir/Makefile"
	# The compiler the kernel was built with, when the host has it; the
	# host's gcc otherwise (5.10 names gcc-10).
	cc=$(grep -o 'gcc-[0-9]*' "$kdir/.kernelvariables" 2>/dev/null | head -1) || true
	if [ -n "$cc" ] && ! command -v "$cc" >/dev/null; then
		kmake="CC=gcc"
		knote="the kernel names $cc, not on the host: the module is built with gcc $(gcc -dumpfullversion)"
	fi
else
	kchroot=$(chroot_headers "$abi" "$bestv")
	kdir=$kchroot/usr/src/linux-headers-$abi
fi
for v in KREL="$krel" KIMAGE="$kimage" KDIR="$kdir" KCHROOT="$kchroot" KMAKE="$kmake" \
	KVERSION="$bestv" KMODROOT="$root" KNOTE="$knote"; do
	printf '%s=%q\n' "${v%%=*}" "${v#*=}"
done >"$dir/env"
touch "$dir/.done"
# Keep one version of this kernel.
find "$cache/kernels" -maxdepth 1 -name "$name-*" ! -path "$dir" -exec rm -rf {} +
echo "$dir"
