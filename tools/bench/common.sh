# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by tools/bench/bench.sh and insn.sh.

# fw_bench_build TOP OUT: finwait_stats and fw_floor built for $KDIR (from
# fw_kernel), both in OUT/mod; fw_churn and the selftests' lib.sh in
# OUT/payload. OUT is made anew.
fw_bench_build() {
	local top=$1 out=$2
	rm -rf "$out" && mkdir -p "$out/mod" "$out/floor" "$out/payload"
	cp -a "$top/Kbuild" "$top/VERSION" "$top/module" "$out/mod/"
	cp -a "$top/tools/bench/floor/." "$out/floor/"
	make -s -C "$KDIR" M="$out/mod" modules >"$out/build.log" 2>&1
	make -s -C "$KDIR" M="$out/floor" modules >>"$out/build.log" 2>&1
	cp "$out/floor/fw_floor.ko" "$out/mod/"
	gcc -O2 -Wall -Wextra -Werror -o "$out/payload/fw_churn" "$top/tools/bench/fw_churn.c"
	cp "$top/selftests/lib.sh" "$out/payload/"
}
