# SPDX-License-Identifier: GPL-2.0
# Sourced: where the guest kernels are (distro: Debian's; debug and rtdebug:
# built by build-debug-kernel.sh). fw_kernel NAME sets KREL (module
# directory name), KIMAGE (bzImage), KDIR (tree for M= builds), VM_MEM (MiB).
fw_kernel() {
	local dir
	case $1 in
	distro)
		# The newest Debian kernel that has its headers installed.
		KREL=$(cd /lib/modules && for d in *; do
			[ -e "$d/build/Makefile" ] && [ -e "/boot/vmlinuz-$d" ] && echo "$d"
		done | sort -V | tail -1)
		[ -n "$KREL" ] || { echo "no Debian kernel with headers (make deps)" >&2; return 1; }
		KIMAGE=/boot/vmlinuz-$KREL
		KDIR=/lib/modules/$KREL/build
		VM_MEM=1024
		;;
	debug|rtdebug)
		dir=$("$(dirname "${BASH_SOURCE[0]}")/build-debug-kernel.sh" "$1") || return 1
		KREL=$(cat "$dir/include/config/kernel.release")
		KIMAGE=$dir/arch/x86/boot/bzImage
		KDIR=$dir
		VM_MEM=2048
		;;
	*)
		echo "unknown kernel '$1' (distro, debug or rtdebug)" >&2
		return 1
		;;
	esac
}
