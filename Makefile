# SPDX-License-Identifier: GPL-2.0
#
# `make`          build synguard.ko for the running kernel
# `make install`  install it there (then `modprobe synguard`)
# `make deb`      .build/deb/synguard-dkms_<version>_all.deb (DKMS), lintian-checked
# `make dkms-src` the DKMS source tree in $(DESTDIR)/usr/src/synguard-<version>
# `make check`    every test: both Debian kernels, in QEMU guests
# `make check-install`  the install tests (package, make_install, dkms_by_hand)
#                 on both kernels (make check runs each on one)
# `make check-debug`  every test on a KASAN/lockdep/kmemleak 6.12 (not in check)
# `make demo`     a SYN flood against a web server, with and without synguard
# `make bench`    synguard next to kernel syncookies and SYNPROXY
# `make bench-cost`  the same in guest instructions (QEMU icount), per SYN,
#                 ACK and relayed MiB; BENCH_COST_ARGS="--quick" for a short run

KDIR ?= /lib/modules/$(shell uname -r)/build
KERNEL ?= all
# The version lives in VERSION only: dkms.conf, the package and the module
# (through Kbuild, when there is no git checkout) take it from there.
VERSION := $(shell cat "$(CURDIR)/VERSION")
DKMS_SRC := $(DESTDIR)/usr/src/synguard-$(VERSION)

.PHONY: all modules modules-all install clean deps check check-debug unit selftests \
	checkpatch tools demo bench bench-cost deb dkms-src check-install

all: modules

modules:
	@test -d "$(KDIR)" || { echo "No kernel headers in $(KDIR):" \
		"install linux-headers-$$(uname -r) or set KDIR=."; exit 1; }
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" modules

install: modules
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" modules_install
	depmod -a

# What DKMS builds from (Kbuild and the module's sources: dkms.conf runs the
# kernel's own make on them), with dkms.conf's #MODULE_VERSION# filled in.
# The package (debian/rules) installs exactly this.
dkms-src:
	install -d "$(DKMS_SRC)/module"
	install -m 644 Kbuild VERSION "$(DKMS_SRC)/"
	install -m 644 module/*.[ch] "$(DKMS_SRC)/module/"
	sed '/^PACKAGE_VERSION=/s/#MODULE_VERSION#/$(VERSION)/' dkms.conf >"$(DKMS_SRC)/dkms.conf"

deb: deps
	scripts/make-deb.sh

# Build for the test kernels (Debian 6.1 and 6.12), each in .build/<krel>/.
modules-all: deps
	scripts/build-module.sh 6.1
	scripts/build-module.sh 6.12

deps:
	scripts/install-deps.sh

tools:
	$(MAKE) -C selftests/tools

unit:
	$(MAKE) -C selftests/unit run

checkpatch:
	scripts/checkpatch.sh

# `make selftests KERNEL=6.1 TESTS=relay_ipv4` runs a subset. (The package
# test installs the .deb and the kernels' header packages in its guests.)
selftests: modules-all tools deb
	scripts/fetch-kernel.sh --debs 6.1 >/dev/null
	scripts/fetch-kernel.sh --debs 6.12 >/dev/null
	selftests/run.sh --kernel $(KERNEL) $(TESTS)

check:
	scripts/check.sh

# The package and `make install` tests (opt-in: DKMS builds in the guests
# take 5-12 minutes each under TCG), on both kernels.
check-install: modules-all tools deb
	scripts/fetch-kernel.sh --debs 6.1 >/dev/null
	scripts/fetch-kernel.sh --debs 6.12 >/dev/null
	selftests/run.sh --kernel $(KERNEL) package make_install dkms_by_hand

# `make check-debug TESTS=fuzz FUZZ_SECONDS=60` runs a subset.
check-debug:
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),600) scripts/check-debug.sh $(TESTS)

demo: modules-all tools
	scripts/demo.sh --kernel $(if $(filter all,$(KERNEL)),6.12,$(KERNEL))

bench: modules-all tools
	scripts/bench.sh

# e.g. BENCH_COST_ARGS="--quick --kernel 6.12 --only synguard --sections syn,perf"
bench-cost: modules-all tools
	scripts/bench-cost.sh $(if $(filter-out all,$(KERNEL)),--kernel $(KERNEL)) $(BENCH_COST_ARGS)

clean:
	rm -rf .build *.o *.ko *.mod *.mod.c .*.cmd module/*.o module/.*.cmd \
		modules.order Module.symvers
	$(MAKE) -C selftests/tools clean
	-$(MAKE) -C selftests/unit clean
