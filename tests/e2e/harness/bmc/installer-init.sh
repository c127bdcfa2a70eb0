#!/bin/busybox sh
# /init of the installer initramfs of tests/e2e/reprovision.rs (the test builds it with cpio,
# like tests/e2e/pxe_boot.rs): the last step of an unattended install on a disk-first machine.
# Bring the network up, tell pxe-pilot "this machine is installed, boot it locally from now
# on" with the STATIC `pxe-pilot` client and NO token (the self-service callback), then
# REBOOT: the BMC's network boot was once, so the machine now boots its disk. Every line the
# test looks for starts with PXE-PILOT-E2E.
. /installer-lib.sh
start_guest
echo "PXE-PILOT-E2E: installer initramfs running"
network_up

server=$(sed -n 's/.*pxe_pilot_server=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "PXE-PILOT-E2E: installing... done; self-service callback to $server (no token)"
timeout 60 /bin/pxe-pilot -s "$server" config deploy local --self
echo "PXE-PILOT-E2E: callback rc=$?"
echo "PXE-PILOT-E2E: installer reboots"
reboot -f
