#!/bin/sh
# Runs every fuzz target of the module, one after the other, for the given
# time each (go test -fuzz takes one target at a time). Usage:
#   scripts/fuzz.sh [FUZZTIME]     e.g. scripts/fuzz.sh 30s (the default)
# New crashers are written to the package's testdata/fuzz/<Target>/ by go
# test: commit them, they become regression seeds.
set -eu
fuzztime=${1:-30s}
go=${GO:-go}
cd "$(dirname "$0")/.."
failed=0
n=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run fuzzes one target. go test's fuzzing coordinator sometimes gives up
# with a bare "context deadline exceeded" when the machine is busy (no
# failing input is written): that is retried once, a real crasher is not.
run() {
	for attempt in 1 2; do
		if "$go" test -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" "$1" >"$log" 2>&1; then
			cat "$log"
			return 0
		fi
		cat "$log"
		if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
			return 1
		fi
		echo "(go test -fuzz timed out without a failing input; retrying once)"
	done
	return 1
}

# The packages of this module only (cmd/callgw-bench/ariproxy is a module of its own).
for dir in $("$go" list -f '{{.Dir}}' ./...); do
	ls "$dir"/*_test.go >/dev/null 2>&1 || continue
	for target in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/' | sort -u); do
		n=$((n + 1))
		echo "== ${dir#"$PWD"/} $target ($fuzztime)"
		if ! run "$dir" "$target"; then
			echo "FAIL: $dir $target"
			failed=$((failed + 1))
		fi
	done
done
echo "fuzz: $n targets, $failed failed"
[ "$failed" -eq 0 ]
