#!/bin/busybox sh
# /init of the installer initramfs of tests/e2e_reprovision.rs (the test builds it with cpio,
# like tests/e2e_pxe_boot.rs): the last step of an unattended install on a disk-first machine.
# Bring the network up, tell pxe-pilot "this machine is installed, boot it locally from now
# on" with the STATIC `pxe-pilot` client and NO token (the self-service callback), then
# REBOOT: the BMC's network boot was once, so the machine now boots its disk. Every line the
# test looks for starts with PXE-PILOT-E2E.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "PXE-PILOT-E2E: installer initramfs running"

# virtio-net and what it needs, in modules.dep order (written by the test into /modules/order).
for module in $(cat /modules/order); do
  insmod "/modules/$module.ko" || echo "PXE-PILOT-E2E: insmod $module failed"
done

nic=""
for dev in /sys/class/net/*; do
  name=${dev##*/}
  [ "$name" = lo ] || { nic=$name; break; }
done
echo "PXE-PILOT-E2E: nic=$nic mac=$(cat /sys/class/net/$nic/address 2>/dev/null)"
ip link set lo up
ip link set "$nic" up
# udhcpc configures nothing without a script (-s); every command is bounded by timeout.
timeout 30 udhcpc -i "$nic" -s /udhcpc.sh -n -q -t 10 -T 1 \
  || echo "PXE-PILOT-E2E: DHCP failed"

server=$(sed -n 's/.*pxe_pilot_server=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "PXE-PILOT-E2E: installing... done; self-service callback to $server (no token)"
timeout 60 /bin/pxe-pilot -s "$server" config deploy local --self
echo "PXE-PILOT-E2E: callback rc=$?"
echo "PXE-PILOT-E2E: installer reboots"
reboot -f
