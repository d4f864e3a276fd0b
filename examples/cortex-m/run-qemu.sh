#!/usr/bin/env bash
# Runs a firmware image on QEMU's MPS2 AN386 (Cortex-M4F) with semihosting, as the cargo
# runner and in CI. `-icount shift=0` advances the virtual clock 1 ns per instruction, so the
# firmware's SysTick counts instructions; QEMU exits with the firmware's status. Killed after
# FIRMWARE_TIMEOUT seconds (default 300), so a hung firmware fails instead of stalling CI.
set -euo pipefail
exec timeout "${FIRMWARE_TIMEOUT:-300}" qemu-system-arm -machine mps2-an386 -cpu cortex-m4 \
  -nographic -monitor none -serial none -semihosting-config enable=on,target=native \
  -icount shift=0 -kernel "$1"
