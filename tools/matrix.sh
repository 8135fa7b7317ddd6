#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make matrix [KERNELS="deb510 deb72 ..."]: the full suites (KUnit where the
# kernel has it, finwait_paths.sh, finwait_harness, finwait's guest tests,
# finwait_lifecycle.sh) on each kernel, two guests at a time; default: every
# kernel the test bed knows (tools/vm/kernels.sh). Ends with a table and
# "N passed, N failed, N skipped", and writes each kernel's row into the
# README's support matrix (other kernels' rows stay as they were).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/matrix
# shellcheck source=tools/vm/guests.sh
. "$top/tools/vm/guests.sh"

kernels=${KERNELS:-$(fw_kernel_names)}
host_setup

# The slowest (debug) guests first, so that the others fill in beside them.
specs=()
for k in $kernels; do
	case $k in debug|rtdebug) specs=("$k:full" "${specs[@]}") ;; *) specs+=("$k:full") ;; esac
done
# shellcheck disable=SC2086
prepare_kernels $kernels
note "guests: $kernels"
(run_guests "${specs[@]}")
for k in $kernels; do report "$k" full; done
table

# The README's rows: kernel, release, Debian version, result, time, date.
day=$(date -u +%Y-%m-%d)
# Only the test bed's own kernels (not custom, not a misspelt name).
python3 - "$top/README.md" "$out/rows" "$day" "$(fw_kernel_names)" <<'PY'
import re, sys
readme, rows, day, known = sys.argv[1:]
known = known.split()
text = open(readme).read()
m = re.search(r'(<!-- matrix:begin -->\n)(.*?)(<!-- matrix:end -->)', text, re.S)
if not m:
    sys.exit("matrix: README.md has no <!-- matrix:begin/end --> markers")
head = "| kernel | release | Debian version | full suites | time | run |\n|---|---|---|---|---|---|\n"
old = {}
for line in m.group(2).splitlines():
    c = [x.strip() for x in line.strip('|').split('|')]
    if len(c) == 6 and c[0].startswith('`'):
        old[c[0]] = line
for r in open(rows):
    n, rel, v, p, f, s, t = r.split()
    if n not in known:
        continue
    t = int(t)
    res = f"{p} passed, {f} failed, {s} skipped" + ("" if f == "0" else " **FAILED**")
    old[f"`{n}`"] = f"| `{n}` | {rel} | {v} | {res} | {t // 60} min {t % 60:02d} s | {day} |"
key = lambda k: (known.index(k.strip('`')) if k.strip('`') in known else 99, k)
body = "".join(old[k] + "\n" for k in sorted(old, key=key))
open(readme, "w").write(text[:m.start(2)] + head + body + text[m.end(2):])
PY
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
