#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install-deps.sh [bench]
#
# Install the Debian packages the test bed needs, only those missing; with
# "bench", also what make bench runs beside the module (the guest runs them
# from the host's root, run.sh --host-root). Idempotent; needs root
# (apt-get).
set -euo pipefail

pkgs=(
	# guest kernels and what builds modules and the debug kernels (6.1, and
	# 6.12 for PREEMPT_RT, from bookworm-security, a suite of Debian 12's own)
	linux-image-amd64 linux-headers-amd64 linux-source-6.1 linux-source-6.12
	build-essential bc flex bison libelf-dev libssl-dev dwarves kmod cpio
	# the guest's userspace and the machine that runs it
	qemu-system-x86 busybox-static iproute2 netcat-openbsd procps ethtool
	# packaging and hygiene
	dkms sparse xz-utils zstd
	# the other Debian kernels: their chroots (tools/vm/mkchroot.sh)
	debootstrap
	# checks of finwait's JSON and Prometheus output (tools/finwait/tests;
	# jq also in the guests)
	python3 python3-prometheus-client jq
	# systemd-analyze, for the units make install-tool installs
	systemd
)
if [ "${1:-}" = bench ]; then
	# the tools a user would reach for instead: bpftrace, and bcc's
	# tcpstates (bpfcc-tools; its python3-bpfcc compiles against the guest
	# kernel's headers, linux-headers-amd64 above)
	pkgs+=(bpftrace bpfcc-tools)
elif [ $# -gt 0 ]; then
	echo "usage: install-deps.sh [bench]" >&2
	exit 2
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
