# SPDX-License-Identifier: GPL-2.0
# finwait_stats: wrapper around Kbuild (see Kbuild) and the project's tools.
#
#   make                 the module for KDIR
#   make selftests       the selftest programs (KSRC= for kselftest_harness.h)
#   make tool            tools/finwait/finwait, the userspace tool
#   make install         module into /lib/modules/<rel>/extra + depmod, and
#                        the tool into $(PREFIX)/bin (install-module, install-tool)
#   make load / unload
#   make demo            the stopped-peer experiment in a qemu guest
#   make check           every test suite, in qemu: full suites on the distro
#                        and debug kernels, smoke runs on the other Debian
#                        kernels (tools/vm/kernels.list); KREL= picks the
#                        distro kernel; KIMAGE= KDIR= runs the full suites
#                        on your own kernel instead
#   make matrix          the full suites on every kernel (KERNELS= a subset)
#   make bench           cost, memory and scale in the distro guest
#   make bench-insn      the module's cost in instructions per connection,
#                        function by function (a qemu plugin counts them)

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell cat VERSION)

all: module

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

selftests:
	$(MAKE) -C selftests

tool:
	$(MAKE) -C tools/finwait

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(MAKE) -C selftests clean
	$(MAKE) -C tools/finwait clean
	rm -rf build

install: install-module install-tool

install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=extra modules_install
	depmod -a $(KERNELRELEASE)

install-tool:
	$(MAKE) -C tools/finwait install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)

load:
	modprobe finwait_stats 2>/dev/null || insmod ./finwait_stats.ko

unload:
	rmmod finwait_stats

deps:
	tools/vm/install-deps.sh

demo: deps
	tools/demo.sh

check:
	tools/check.sh

matrix:
	tools/matrix.sh

bench: deps
	tools/bench/bench.sh

bench-insn: deps
	tools/bench/insn.sh

# Kernel style and static checks, with the kernel's own tools.
KSRC ?= $(shell tools/vm/ksrc.sh)
style:
	$(KSRC)/scripts/checkpatch.pl --strict --no-tree --terse --show-types \
		-f module/*.[ch] module/tests/*.c tools/bench/floor/*.c

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 CF=-Wsparse-error modules

dkms-install:
	dkms add .
	dkms install finwait_stats/$(VERSION)

dkms-uninstall:
	dkms remove finwait_stats/$(VERSION) --all

.PHONY: all module selftests tool clean install install-module install-tool \
	load unload deps demo check matrix bench bench-insn \
	style sparse dkms-install dkms-uninstall
