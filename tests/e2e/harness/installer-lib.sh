# The steps the /init scripts of the test installers' initramfs share (tests/e2e/initramfs.rs
# puts this file at /installer-lib.sh; each /init sources it). Every line the tests look for
# starts with PXE-PILOT-E2E.

# The busybox applets, /proc, /sys and /dev.
start_guest() {
  /bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
  /bin/busybox --install -s
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev 2>/dev/null
}

# virtio-net and what it needs, in modules.dep order (written by the test into
# /modules/order), then the first NIC up with a DHCP lease.
network_up() {
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
}
