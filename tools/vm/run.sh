#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh [options] SCRIPT
#
# Boot a guest kernel under qemu with an initramfs holding the modules, the
# tools, the selftests and the experiment's programs; run SCRIPT (bash) in
# the guest as root; print its output; exit with its status.
#
#   --kernel NAME           which guest kernel (default distro): distro, debug,
#                           rtdebug, custom (KIMAGE=, KDIR=) or one of
#                           kernels.list (fetched on first use)
#   --modules DIR           .ko files to install in the guest (default: none)
#   --payload DIR           copied to /opt/finwait in the guest
#   --timeout SECONDS       kill a hung guest after this long (default 600)
#   --kmemleak              scan for leaks at the end (debug kernel)
#   --log FILE              keep the guest's kernel log there
#   --mem MIB               guest memory (default: the kernel's, kernels.sh)
#   --append ARGS           more kernel command line
#   --smp N                 vCPUs (default 2)
#   --icount SHIFT          instruction-counted guest (qemu -icount
#                           shift=SHIFT,sleep=on): its clock advances 2^SHIFT ns
#                           per instruction, so a rate measured in it does not
#                           follow the host's load (make bench; TCG only)
#   --host-root             the host's / read-only in the guest over virtio-9p
#                           (mount tag "hostroot"), to run the host's own
#                           programs in a chroot (make bench: bpftrace, bcc)
#
# Exit: the script's status; 124 when the guest hung or died before it
# reported one; 125 when the kernel log holds a splat (BUG, WARNING, Oops,
# KASAN, lockdep, kmemleak, RCU stall) even though the script passed.
# FINWAIT_KVM=1 uses KVM instead of TCG (it hangs on some hosts).
# FINWAIT_QEMU_PLUGIN=LIB.so,ARG=... loads a TCG plugin (make bench-insn).
#
# TCG runs single-threaded by default (FINWAIT_TCG_THREAD=multi to change):
# with multi-threaded TCG, unloading the module while another vCPU runs TCP
# code left that vCPU looping on a stale int3 at tcp_set_state+0x0 (soft
# lockup, 2 runs of 2 of finwait_lifecycle.sh x3); single-threaded, 9 runs
# of 9 passed in the same wall time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kernel=distro moddir= payload= timeout=600 kmemleak=0 keeplog= mem= extra= smp=2 icount= hostroot=()
while [ $# -gt 1 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--modules) moddir=$2; shift 2 ;;
	--payload) payload=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--kmemleak) kmemleak=1; shift ;;
	--log) keeplog=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--append) extra=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--icount) icount=$2; shift 2 ;;
	--host-root)
		hostroot=(-virtfs local,path=/,mount_tag=hostroot,security_model=none,multidevs=remap,readonly=on)
		shift ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ $# -eq 1 ] && [ -r "$1" ] || { echo "usage: run.sh [options] SCRIPT" >&2; exit 2; }
[[ $smp =~ ^[1-9][0-9]?$ ]] || { echo "run.sh: --smp $smp: not a number of vCPUs" >&2; exit 2; }
[ -z "$icount" ] || [[ $icount =~ ^[0-9]$|^10$ ]] || { echo "run.sh: --icount $icount: not a shift (0..10)" >&2; exit 2; }
# With qemu 7.2 here, an instruction-counted guest hung bringing up its second vCPU.
[ -z "$icount" ] || [ "$smp" = 1 ] || { echo "run.sh: --icount needs --smp 1 (a second vCPU hung here)" >&2; exit 2; }
script=$1

# shellcheck source=tools/vm/kernels.sh
. "$here/kernels.sh"
fw_kernel "$kernel" || exit 2	# sets KREL, KIMAGE, KDIR, VM_MEM, KMODROOT
export KMODROOT

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/payload"
[ -n "$payload" ] && cp -a "$payload"/. "$work/payload/"
cp "$script" "$work/payload/vm-cmd"
"$here/mkinitramfs.sh" "$work/initrd.gz" "$KREL" "$moddir" "$work/payload"

append="console=ttyS0 panic=-1 oops=panic panic_on_warn=1 softlockup_panic=1"
append+=" tsc=reliable finwait.kmemleak=$kmemleak${extra:+ $extra}"
accel=(-accel "tcg,thread=${FINWAIT_TCG_THREAD:-single}" -cpu max)
[ "${FINWAIT_KVM:-0}" = 1 ] && accel=(-accel kvm -cpu host)
if [ -n "$icount" ]; then
	[ "${FINWAIT_KVM:-0}" != 1 ] || { echo "run.sh: --icount needs TCG, not FINWAIT_KVM=1" >&2; exit 2; }
	accel=(-accel tcg -cpu max -icount "shift=$icount,sleep=on")
fi

console=$work/console.log
set +e
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 "${accel[@]}" \
	-smp "$smp" -m "${mem:-$VM_MEM}" -nodefaults -display none -no-reboot "${hostroot[@]}" \
	${FINWAIT_QEMU_PLUGIN:+-plugin "$FINWAIT_QEMU_PLUGIN"} \
	-kernel "$KIMAGE" -initrd "$work/initrd.gz" -append "$append" \
	-serial "file:$console" -chardev stdio,id=out,signal=off \
	-serial chardev:out </dev/null | tee "$work/out.log"
set -e
# qemu may have died before the console existed (an image that is not a
# kernel): an empty log, and the verdict below says the guest died.
touch "$console"
[ -n "$keeplog" ] && cp "$console" "$keeplog"

rc=$(sed -n 's/^FINWAIT_VM_RC=\([0-9]*\).*/\1/p' "$work/out.log" | tail -1)
splat='BUG:|WARNING:|Oops|KASAN|kernel BUG|general protection|'
splat+='possible recursive locking|inconsistent lock state|circular locking|'
splat+='lock held when returning|suspicious RCU usage|'
splat+='sleeping function called from invalid context|'
# kmemleak: not the kernel's "N new suspected memory leaks", which counts
# boot-time objects too, but the objects guest-init prints after leaving
# those out.
splat+='rcu_.*detected stall|rcu: INFO|'
splat+='list_(add|del) corruption|Kernel panic|UBSAN|unreferenced object'
if grep -Eq "$splat" "$console"; then
	echo "run.sh: kernel splat in the $kernel guest:" >&2
	grep -E -B2 -A30 "$splat" "$console" | head -80 >&2
	exit 125
fi
if [ -z "$rc" ]; then
	echo "run.sh: the $kernel guest hung or died (timeout ${timeout}s); its log ends:" >&2
	tail -40 "$console" >&2
	exit 124
fi
exit "$rc"
