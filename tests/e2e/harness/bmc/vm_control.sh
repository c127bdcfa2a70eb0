#!/bin/sh
# The chassis_control program of OpenIPMI's ipmi_sim for tests/e2e/reprovision.rs: the BMC's
# power IS a QEMU VM (TCG) that boots its DISK FIRST, as real fleets do.
# lan.conf names it:  chassis_control "THIS DIR"
# ipmi_sim runs:  THIS DIR get power|boot       -> prints "power:0|1", "boot:VAL"
#                 THIS DIR set power 0|1 | set reset 1 | set shutdown 1 | set boot VAL
# (VAL from ipmitool: pxe, default (= disk), none, cdrom, bios. ipmi_sim passes neither the
# "persistent" nor the "efiboot" flag, so every boot device is ONCE: the next power on or reset
# consumes it.)
#
# Power on  = start QEMU with "-boot order=c" (disk first), or "-boot order=c,once=n" when the
#             stored boot device is pxe: QEMU's own "network boot once" (the first boot tries
#             the NIC only; a guest reboot in the same QEMU goes back to the disk). The stored
#             device is then reset to "default".
# Power off = SIGTERM to QEMU (waits until it is gone, SIGKILL after ~1 s).
# Reset     = power off + power on (a boot device set while on is honoured); no-op when off.
# Power state = DIR/qemu.pid is alive and is our QEMU: its /proc/PID/cmdline names
#             DIR/disk.img. Not `kill -0` alone: QEMU is re-parented to PID 1 when the
#             program that started it exits, and stays a zombie (kill -0 succeeds, cmdline
#             is empty) until PID 1 reaps it.
# It must answer fast: ipmitool retransmits a request unanswered after ~1 s and ipmi_sim runs
# it again (a second reset).
#
# Files in DIR (written by the test): disk.img, vm.env (VM_TFTP VM_MAC VM_MEM VM_DISK_END).
# Written here: qemu.pid, boot, serial.log (the VM's COM1, appended across boots, with a line
# "=== BMC <time>: power on, -boot ... ===" before each start), chassis.log (every call,
# timestamped), qemu.out.
dir="$1"; shift
op="$1"; shift
log() { echo "$(date +%s.%N) $*" >> "$dir/chassis.log"; }
log "$op $*"
. "$dir/vm.env"

running() {
    [ -f "$dir/qemu.pid" ] || return 1
    pid=$(cat "$dir/qemu.pid")
    kill -0 "$pid" 2>/dev/null || return 1
    grep -q "$dir/disk.img" "/proc/$pid/cmdline" 2>/dev/null
}

vm_stop() {
    running || { rm -f "$dir/qemu.pid"; return 0; }
    pid=$(cat "$dir/qemu.pid")
    kill "$pid" 2>/dev/null
    i=0
    while running && [ $i -lt 50 ]; do sleep 0.02; i=$((i+1)); done
    running && kill -9 "$pid" 2>/dev/null
    rm -f "$dir/qemu.pid"
    log "qemu $pid stopped"
}

vm_start() {
    running && return 0
    boot=$(cat "$dir/boot" 2>/dev/null || echo default)
    if [ "$boot" = pxe ]; then
        order="order=c,once=n"
        echo default > "$dir/boot"
    else
        order="order=c"
    fi
    printf '\r\n=== BMC %s: power on, -boot %s (stored boot device: %s) ===\r\n' \
        "$(date +%s.%N)" "$order" "$boot" >> "$dir/serial.log"
    exitdev="-device isa-debug-exit,iobase=0xf4,iosize=0x04"
    [ "${VM_DISK_END:-halt}" = halt ] && exitdev=""
    # setsid + every fd redirected: ipmi_sim reads this program's stdout until EOF, so QEMU
    # must not inherit it.
    setsid qemu-system-x86_64 -accel tcg -m "${VM_MEM:-256}" -smp 1 -nographic -monitor none \
        -name pxe-pilot-e2e-vm \
        -chardev "file,id=ser0,path=$dir/serial.log,append=on" -serial chardev:ser0 \
        -drive "file=$dir/disk.img,format=raw,if=ide" -boot "$order" \
        -netdev "user,id=n0,tftp=$VM_TFTP,bootfile=pxelinux.0" \
        -device "virtio-net-pci,netdev=n0,mac=$VM_MAC" \
        $exitdev >> "$dir/qemu.out" 2>&1 < /dev/null &
    echo $! > "$dir/qemu.pid"
    log "qemu $! started -boot $order"
}

case "$op" in
get)
    for p in "$@"; do
        case "$p" in
        power) if running; then echo power:1; else echo power:0; fi ;;
        boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo default)" ;;
        *) echo "Invalid parameter: $p"; exit 1 ;;
        esac
    done ;;
set)
    while [ $# -gt 0 ]; do
        p="$1"; v="$2"; shift 2 || { echo "No value for $p"; exit 1; }
        case "$p" in
        power) if [ "$v" = 1 ]; then vm_start; else vm_stop; fi ;;
        reset) if running; then vm_stop; vm_start; fi ;;
        shutdown) vm_stop ;;
        boot) echo "$v" > "$dir/boot" ;;
        identify) shift ;;
        *) echo "Invalid parameter: $p"; exit 1 ;;
        esac
    done ;;
check) exit 1 ;;
*) echo "Unknown operation: $op"; exit 1 ;;
esac
