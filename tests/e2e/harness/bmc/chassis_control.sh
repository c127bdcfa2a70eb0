#!/bin/sh
# The chassis_control program of OpenIPMI's ipmi_sim for tests/e2e/ipmi.rs (lan.conf names it:
# chassis_control "THIS DIR"). ipmi_sim runs it as THIS DIR get power|boot (prints
# "power:0|1", "boot:VAL") and THIS DIR set power 0|1 | set reset 1 | set shutdown 1 |
# set boot none|pxe|default|cdrom|bios. Power and boot device live in DIR/power and DIR/boot;
# every call is appended to DIR/chassis.log with a timestamp: what reached the BMC, for the
# test to assert on. It must answer fast: ipmitool retransmits after ~1 s and ipmi_sim then
# runs the command again.
dir="$1"; shift
op="$1"; shift
echo "$(date +%s.%N) $op $*" >> "$dir/chassis.log"
case "$op" in
get)
    for p in "$@"; do
        case "$p" in
        power) echo "power:$(cat "$dir/power" 2>/dev/null || echo 0)" ;;
        boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo default)" ;;
        *) echo "Invalid parameter: $p"; exit 1 ;;
        esac
    done ;;
set)
    while [ $# -gt 0 ]; do
        p="$1"; v="$2"; shift 2 || { echo "No value for $p"; exit 1; }
        case "$p" in
        power) echo "$v" > "$dir/power" ;;
        reset) echo "$(date +%s.%N)" >> "$dir/resets" ;;
        boot) echo "$v" > "$dir/boot" ;;
        shutdown) echo 0 > "$dir/power" ;;
        identify) shift ;;  # identify takes interval + force
        *) echo "Invalid parameter: $p"; exit 1 ;;
        esac
    done ;;
check) exit 1 ;;
*) echo "Unknown operation: $op"; exit 1 ;;
esac
