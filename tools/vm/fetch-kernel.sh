#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-kernel.sh NAME: fetch kernel NAME of kernels.list into the cache
# (FINWAIT_CACHE, default /var/cache/finwait_stats) and print its directory,
# whose file "env" sets KREL, KIMAGE, KDIR, KCHROOT and KMAKE for kernels.sh.
#
# The newest version of the kernel in its suites is resolved each time, with
# apt's own tools under a private configuration (the host's apt sources,
# lists and dpkg database are not touched); the packages are fetched with
# "apt-get download" and unpacked with "dpkg -x" into the cache, never
# installed. A kernel whose headers need another suite's compiler gets them
# installed in that suite's chroot (mkchroot.sh), which builds its modules.
# Offline, the newest cached version is used and that is said.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${FINWAIT_CACHE:-/var/cache/finwait_stats}
mirror=${FINWAIT_MIRROR:-http://deb.debian.org}
name=${1:?usage: fetch-kernel.sh NAME}
die() { echo "fetch-kernel: $name: $*" >&2; exit 1; }

line=$(awk -v n="$name" '!/^#/ && $1 == n' "$here/kernels.list")
[ -n "$line" ] || die "unknown kernel (kernels.list has: $(awk '!/^#/ && NF { printf "%s ", $1 }' "$here/kernels.list"))"
read -r _ build suites abire <<<"$line"

# A private apt for these suites, shared by the kernels that use them.
aptdir=$cache/apt/$(echo "$suites" | tr -c 'A-Za-z0-9\n' _)
mkdir -p "$aptdir/none" "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$cache/kernels"
exec 9>"$aptdir/.lock"
flock 9
: >"$aptdir/sources.list"
IFS=, read -ra slist <<<"$suites"
for s in "${slist[@]}"; do
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
		"$mirror/${s#*@} ${s%@*} main" >>"$aptdir/sources.list"
done
last=${slist[-1]%@*}
aptopts=(-o Dir::Etc::sourcelist="$aptdir/sources.list"
	-o Dir::Etc::sourceparts="$aptdir/none" -o Dir::Etc::preferencesparts="$aptdir/none"
	-o Dir::State::lists="$aptdir/lists" -o Dir::Cache="$aptdir/cache"
	-o Dir::State::status=/dev/null -o APT::Architecture=amd64
	-o Acquire::Languages=none -o Acquire::Check-Valid-Until=false)
aptc() { apt-cache "${aptopts[@]}" "$@"; }

# The newest cached version, for when the archive cannot be asked.
cached() {
	local d
	d=$(ls -d "$cache/kernels/$name"-*/ 2>/dev/null | sort -V | tail -1)
	[ -n "$d" ] && [ -f "$d/.done" ] || return 1
	echo "fetch-kernel: $name: $1; using the cached $(basename "$d")" >&2
	echo "${d%/}"
	exit 0
}

if ! apt-get "${aptopts[@]}" -qq update >"$aptdir/update.log" 2>&1; then
	cached "apt-get update failed ($(tail -1 "$aptdir/update.log"))" ||
		die "apt-get update for ${slist[*]} failed: $(tail -1 "$aptdir/update.log")"
fi

best='' bestv=''
for p in $(aptc pkgnames linux-headers- | grep -E "^linux-headers-($abire)\$" || true); do
	v=$(aptc show --no-all-versions "$p" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
	[ -n "$v" ] || continue
	if [ -z "$bestv" ] || dpkg --compare-versions "$v" gt "$bestv"; then
		best=$p bestv=$v
	fi
done
[ -n "$best" ] || cached "no linux-headers-($abire) in ${slist[*]}" ||
	die "no package linux-headers-($abire) in ${slist[*]}"
abi=${best#linux-headers-}
dir=$cache/kernels/$name-$(echo "$bestv" | tr -c 'A-Za-z0-9.\n' _)
if [ -f "$dir/.done" ]; then
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
(cd "$dir/debs" && apt-get "${aptopts[@]}" -qq download "${pkgs[@]}") >"$dir/fetch.log" 2>&1 ||
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

kchroot='' kmake=''
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
		echo "fetch-kernel: $name: $cc is not on the host; modules are built with $(gcc -dumpfullversion)" >&2
	fi
else
	kchroot=$("$here/mkchroot.sh" "${build#chroot:}") || die "no ${build#chroot:} chroot"
	{
		chroot "$kchroot" apt-get -qq update &&
		DEBIAN_FRONTEND=noninteractive chroot "$kchroot" apt-get -qq install -y \
			--no-install-recommends -t "$last" "$best=$bestv"
	} >"$dir/chroot.log" 2>&1 || die "installing $best in the chroot failed: $(tail -1 "$dir/chroot.log")"
	kdir=$kchroot/usr/src/linux-headers-$abi
fi
cat >"$dir/env" <<EOF
KREL=$krel
KIMAGE=$kimage
KDIR=$kdir
KCHROOT=$kchroot
KMAKE=$kmake
KVERSION=$bestv
KMODROOT=$root
EOF
touch "$dir/.done"
# Keep one version of this kernel.
find "$cache/kernels" -maxdepth 1 -name "$name-*" ! -path "$dir" -exec rm -rf {} +
echo "$dir"
