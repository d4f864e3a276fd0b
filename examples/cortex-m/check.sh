#!/usr/bin/env bash
# Checks the firmware's report (`key: value` lines) in CI:
#   check.sh DEVICE_LOG HOST_LOG LENET_LOG README
# - the firmware ran to its end;
# - every `*_right` and `*_hash` line equals the host build's (the same digits classified
#   right, bit-identical outputs: the host reference is built for the portable x86-64
#   baseline, whose 4-lane sums are the Cortex-M build's);
# - LeNet-5's accuracy equals the `lenet` example's on the same weights and test split;
# - every figure in the README's `firmware-limits` block holds (`key >= x` or `key <= x`).
set -euo pipefail
device=$1 host=$2 lenet=$3 readme=$4
fail=0
bad() { echo "firmware check failed: $*"; fail=1; }
value() { sed -n "s/^$1: //p" "$2" | head -n1; }

grep -qx done "$device" || bad "the firmware did not print its last line"

while read -r key rest; do
  key=${key%:}
  [[ "$(value "$key" "$device")" == "$rest" ]] ||
    bad "$key is '$(value "$key" "$device")' on the device, '$rest' on the host"
done < <(grep -E '^[a-z0-9_]+_(right|hash): ' "$host")
grep -qE '^lenet_f32_hash: ' "$host" || bad "the host reference printed no LeNet-5 result"

# "test accuracy: 98.00% (2000 digits)"
example=$(sed -n 's/^test accuracy: \([0-9.]*\)% (\([0-9]*\) digits)$/\1 \2/p' "$lenet")
digits=$(value lenet_f32_right "$device")
[[ "$example" == "$(value lenet_f32_accuracy "$device") ${digits#*/}" ]] ||
  bad "the lenet example gives '$example' (accuracy, digits), the firmware $(value lenet_f32_accuracy "$device") on ${digits#*/}"

limits=$(sed -n '/^```text firmware-limits$/,/^```$/p' "$readme" | grep -E '^[a-z0-9_]+ +(>=|<=) +[0-9.]+$' || true)
[[ -n "$limits" ]] || bad "no firmware-limits block in $readme"
while read -r key op limit; do
  [[ -n "$key" ]] || continue
  got=$(value "$key" "$device")
  if [[ -z "$got" ]]; then
    bad "the firmware printed no $key"
  elif ! awk -v g="$got" -v l="$limit" -v op="$op" 'BEGIN { exit !(op == ">=" ? g + 0 >= l + 0 : g + 0 <= l + 0) }'; then
    bad "$key is $got, the README's limit is $op $limit"
  else
    printf '%-40s %12s  (limit %s %s)\n' "$key" "$got" "$op" "$limit"
  fi
done <<<"$limits"
exit "$fail"
