#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the unit test binaries given as arguments and merge their TAP lines
# into one stream, numbered across binaries as "ok N binary/test". Other
# output (sanitizer reports...) is passed through as "# " comments. A
# binary that reports fewer tests than its plan ("1..N", first line), that
# exits non-zero without having reported a failure (a crash, a sanitizer
# abort) or that reports no test at all counts as one more failed test.
# Ends with the plan and the line "N passed, N failed"; exits 1 on any
# failure. Each binary gets UNIT_TIMEOUT seconds (default 300), so that a
# parser stuck in a loop fails the run instead of hanging it.
set -u

timeout=${UNIT_TIMEOUT:-300}

n=0
passed=0
failed=0

report() {	# report ok|not-ok description
	n=$((n + 1))
	if [ "$1" = ok ]; then
		passed=$((passed + 1))
		echo "ok $n $2"
	else
		failed=$((failed + 1))
		echo "not ok $n $2"
	fi
}

run_one() {	# run_one binary
	local bin=$1 name line rest rc=255 tests=0 fails=0 plan=

	name=$(basename "$bin")
	while IFS= read -r line; do
		case $line in
		"ok "* | "not ok "*)
			rest=${line#not }
			rest=${rest#ok }
			rest=${rest#* }
			tests=$((tests + 1))
			if [ "${line%%ok *}" = "not " ]; then
				fails=$((fails + 1))
				report not-ok "$name/$rest"
			else
				report ok "$name/$rest"
			fi
			;;
		1..[0-9]*)
			plan=${line#1..}
			;;
		"__unit_rc "*)
			rc=${line#__unit_rc }
			;;
		"#"*)
			echo "$line"
			;;
		*)
			echo "# $line"
			;;
		esac
	done < <(timeout -k 10 "$timeout" "$bin" 2>&1; echo "__unit_rc $?")

	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		report not-ok "$name (timed out after ${timeout}s)"
	elif [ -n "$plan" ] && [ "$tests" -lt "$plan" ]; then
		report not-ok "$name (stopped after $tests of $plan tests, exit status $rc)"
	elif [ "$rc" != 0 ] && [ "$fails" = 0 ]; then
		report not-ok "$name (exit status $rc)"
	elif [ "$tests" = 0 ]; then
		report not-ok "$name (no test reported)"
	fi
}

echo "TAP version 13"
for bin in "$@"; do
	run_one "$bin"
done
echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
