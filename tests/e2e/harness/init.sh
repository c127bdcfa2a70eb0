#!/bin/busybox sh
# /init of the test installer's initramfs (tests/e2e/pxe_boot.rs builds it with cpio).
# It plays the last step of an unattended install: bring the network up, tell pxe-pilot
# "this machine is installed, boot it locally from now on" with the static `pxe-pilot` CLI,
# then power off. Every line the test looks for starts with PXE-PILOT-E2E.
. /installer-lib.sh
start_guest
echo "PXE-PILOT-E2E: installer initramfs running"
network_up

server=$(sed -n 's/.*pxe_pilot_server=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "PXE-PILOT-E2E: installing... done; calling back $server"
timeout 60 /bin/pxe-pilot -s "$server" config deploy local --self
echo "PXE-PILOT-E2E: callback rc=$?"
poweroff -f
