#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-deb.sh PKG: the candidate version of PKG from the host's apt sources,
# downloaded (never installed: no maintainer script runs, no service starts)
# and unpacked into $FINWAIT_CACHE/debs/PKG-VERSION/root, once; prints that
# directory. The guests get programs this way (prometheus-node-exporter)
# that the host has no use for.
set -euo pipefail
pkg=${1:?usage: fetch-deb.sh PKG}
cache=${FINWAIT_CACHE:-/var/cache/finwait_stats}
candidate() { apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }'; }
ver=$(candidate)
# A machine whose package lists were never fetched (or were cleaned): once.
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	apt-get -qq update >/dev/null 2>&1 && ver=$(candidate)
fi
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	echo "fetch-deb: $pkg: not in the host's apt sources" >&2
	exit 1
fi
dir=$cache/debs/$pkg-$(tr ':~+' '___' <<<"$ver")
if [ ! -d "$dir/root" ]; then
	mkdir -p "$cache/debs"
	tmp=$(mktemp -d "$cache/debs/.fetch-XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	if ! (cd "$tmp" && apt-get -qq download "$pkg=$ver") >"$tmp/log" 2>&1; then
		echo "fetch-deb: $pkg $ver: apt-get download failed: $(tail -1 "$tmp/log")" >&2
		exit 1
	fi
	dpkg -x "$tmp"/*.deb "$tmp/root"
	mkdir -p "$dir"
	# Whole or not at all: a concurrent fetch of the same version may win.
	mv -T "$tmp/root" "$dir/root" 2>/dev/null || [ -d "$dir/root" ]
fi
echo "$dir/root"
