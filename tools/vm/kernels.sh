# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034
# Sourced: where the guest kernels are. fw_kernel NAME sets KREL (module
# directory name), KIMAGE (bzImage), KDIR (tree for M= builds), VM_MEM (MiB),
# KMODROOT (the tree whose lib/modules/KREL holds the kernel's own modules,
# empty when it has none), KCHROOT and KMAKE (see fw_make_module).
#   distro   Debian's default kernel (the one linux-image-amd64 names), or
#            the installed kernel KREL= names
#   debug, rtdebug   built here by build-debug-kernel.sh
#   custom   yours: KIMAGE= and KDIR= (a built tree)
#   deb510 ... the Debian kernels of kernels.list, fetched by fetch-kernel.sh

# What the user gave (make check KREL=, KIMAGE=, KDIR=), kept before
# fw_kernel sets these for each kernel, and passed on to the scripts run
# from here (run.sh sources this file again).
# Relative paths are taken from where make was run.
if [ -z "${FW_USER_KIMAGE+set}" ]; then
	FW_USER_KIMAGE=${KIMAGE:+$(realpath -m "$KIMAGE")}
	FW_USER_KDIR=${KDIR:+$(realpath -m "$KDIR")}
	FW_USER_KREL=${KREL:-}
fi
export FW_USER_KREL FW_USER_KIMAGE FW_USER_KDIR
fw_user_krel=$FW_USER_KREL fw_user_kimage=$FW_USER_KIMAGE fw_user_kdir=$FW_USER_KDIR
fw_vm=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# All kernel names: the fixed ones, then kernels.list's.
fw_kernel_names() {
	# shellcheck disable=SC2046
	echo distro debug rtdebug $(awk '!/^#/ && NF { print $1 }' "${FINWAIT_KERNEL_LIST:-$fw_vm/kernels.list}")
}

fw_kernel() {
	local dir
	KCHROOT='' KMAKE='' KMODROOT='' VM_MEM=1024 KVERSION=''
	case $1 in
	distro)
		KREL=$fw_user_krel
		if [ -z "$KREL" ]; then
			KREL=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
				grep -o 'linux-image-[^ ,]*' | head -1)
			KREL=${KREL#linux-image-}
		fi
		[ -n "$KREL" ] || { echo "distro: linux-image-amd64 is not installed (make deps)" >&2; return 1; }
		KIMAGE=/boot/vmlinuz-$KREL
		KDIR=/lib/modules/$KREL/build
		[ -r "$KIMAGE" ] && [ -e "$KDIR/Makefile" ] ||
			{ echo "distro: kernel $KREL needs $KIMAGE and its headers in $KDIR" >&2; return 1; }
		KMODROOT=/
		KVERSION=$(dpkg-query -W -f='${Version}' "linux-image-$KREL" 2>/dev/null)
		;;
	debug|rtdebug)
		dir=$("$fw_vm/build-debug-kernel.sh" "$1") || return 1
		KREL=$(cat "$dir/include/config/kernel.release")
		KIMAGE=$dir/arch/x86/boot/bzImage
		KDIR=$dir
		KVERSION=$KREL
		VM_MEM=2048
		;;
	custom)
		KIMAGE=$fw_user_kimage KDIR=$fw_user_kdir
		[ -n "$KIMAGE" ] && [ -n "$KDIR" ] ||
			{ echo "custom: give KIMAGE=path/to/bzImage and KDIR=path/to/build" >&2; return 1; }
		[ -r "$KIMAGE" ] || { echo "custom: no kernel image $KIMAGE" >&2; return 1; }
		[ -r "$KDIR/include/config/kernel.release" ] && [ -r "$KDIR/Module.symvers" ] ||
			{ echo "custom: $KDIR is not a built kernel tree (no kernel.release or Module.symvers)" >&2; return 1; }
		KREL=$(cat "$KDIR/include/config/kernel.release")
		KVERSION=$KREL
		VM_MEM=2048
		fw_custom_config_ok "$KDIR/.config" || return 1
		;;
	*)
		if [[ " $(fw_kernel_names) " != *" $1 "* ]]; then
			echo "unknown kernel '$1' (known: $(fw_kernel_names), custom)" >&2
			return 1
		fi
		dir=$("$fw_vm/fetch-kernel.sh" "$1") || return 1
		KNOTE=''
		# shellcheck disable=SC1091
		. "$dir/env"
		# Said each time: the report shows it (5.10's compiler).
		[ -z "$KNOTE" ] || echo "# $1: $KNOTE" >&2
		;;
	esac
}

# fw_custom_config_ok CONFIG: the options a kernel needs to boot in the test
# bed (serial console, gzip initramfs, devtmpfs, ELF, futexes for glibc,
# users for "su nobody", sysctl), to load the module (kallsyms, ftrace with
# registers) and to run the tests (selftests/config), built in: the guest
# has no modules but ours.
fw_custom_needs="SERIAL_8250_CONSOLE BLK_DEV_INITRD RD_GZIP DEVTMPFS PROC_FS PROC_SYSCTL SYSFS
	TMPFS BINFMT_ELF BINFMT_SCRIPT MULTIUSER FUTEX KALLSYMS DYNAMIC_FTRACE_WITH_REGS
	$(sed -n 's/^CONFIG_\([A-Z0-9_]*\)=y$/\1/p' "$fw_vm/../../selftests/config")"
fw_custom_config_ok() {
	local sym missing=''
	for sym in $fw_custom_needs; do
		grep -qx "CONFIG_$sym=y" "$1" 2>/dev/null || missing+=" CONFIG_$sym"
	done
	[ -z "$missing" ] && return 0
	echo "custom: $1 lacks (=y):$missing (see selftests/config and tools/vm/debug.config)" >&2
	return 1
}

# fw_make_module DIR ARGS...: make -C $KDIR M=DIR ARGS for the kernel
# fw_kernel chose; in its chroot (a copy of DIR there, results copied back)
# when its headers need another suite's compiler.
fw_make_module() {
	local dir=$1 c
	shift
	if [ -z "$KCHROOT" ]; then
		# shellcheck disable=SC2086
		make -C "$KDIR" M="$dir" $KMAKE "$@"
		return
	fi
	# A directory of this build's own in the chroot (two runs may build
	# the same kernel's module at once).
	c=/build/$(basename "$dir")-$(echo "$dir" | sha1sum | cut -c1-8)
	rm -rf "$KCHROOT$c" && mkdir -p "$KCHROOT/build" && cp -a "$dir" "$KCHROOT$c" || return 1
	# objtool reads /proc: mounted in a mount namespace of the build's own,
	# gone with it. The lock, shared, keeps apt (fetch-kernel.sh installing
	# another kernel's headers) from changing the toolchain meanwhile.
	# shellcheck disable=SC2086
	flock -s "$KCHROOT/../.chroot-$(basename "$KCHROOT" | sed 's/^chroot-//').lock" \
		unshare -m sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
		"$KCHROOT" make -C "${KDIR#"$KCHROOT"}" M="$c" $KMAKE "$@" || return 1
	cp -a "$KCHROOT$c/." "$dir/" && rm -rf "${KCHROOT:?}$c"
}

# fw_install_module DIR DEST: the module built in DIR installed the way the
# kernel installs modules (modules_install: compressed when its configuration
# says so; not signed), the files put in DEST.
fw_install_module() {
	local dir=$1 dest=$2 inst=$1/.inst
	[ -n "$KCHROOT" ] && inst=/build/$(basename "$dir")-$(echo "$dir" | sha1sum | cut -c1-8)/.inst
	rm -rf "$dir/.inst"
	fw_make_module "$dir" INSTALL_MOD_PATH="$inst" INSTALL_MOD_DIR=extra DEPMOD=true \
		CONFIG_MODULE_SIG_ALL= modules_install || return 1
	mkdir -p "$dest" && cp "$dir/.inst/lib/modules/$KREL/extra/"* "$dest/"
}
