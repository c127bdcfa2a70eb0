#!/bin/sh
# Put on pxe-pilot-server's PATH as `ipmitool` by tests/e2e/ipmi.rs: logs the arguments it was
# given (one line per call: each argument in brackets, then whether IPMI_PASSWORD is set,
# never its value) to $PXE_PILOT_E2E_IPMITOOL_LOG, then execs the REAL ipmitool
# ($PXE_PILOT_E2E_IPMITOOL), which talks to the real BMC emulator. ipmi_sim drops
# `options=efiboot` before its chassis_control program sees it: this log is where a test sees
# that pxe-pilot sent it, and that no password was on the command line.
# One write per call (the server runs several at once): build the line, then print it.
line="argv:"
for arg in "$@"; do line="$line [$arg]"; done
if [ -n "${IPMI_PASSWORD+x}" ]; then line="$line IPMI_PASSWORD=set"; else line="$line IPMI_PASSWORD=unset"; fi
printf '%s\n' "$line" >> "${PXE_PILOT_E2E_IPMITOOL_LOG:?the test names the log}"
exec "${PXE_PILOT_E2E_IPMITOOL:?the test names the real ipmitool}" "$@"
