#!/bin/busybox sh
# /init of the HTTP-booted installer's initramfs (tests/e2e_http_boot.rs builds it; iPXE
# fetches it from a plain HTTP file server, after the script pxe-pilot rendered for the host).
# It shows the kernel command line the rendered script gave it, then plays an installer's
# last step unless `pxe_pilot_callback=no`: bring the network up and tell pxe-pilot "boot me
# locally from now on" with the static `pxe-pilot` CLI. Then it powers off. Every line the
# test looks for starts with PXE-PILOT-E2E.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "PXE-PILOT-E2E: cmdline: $(cat /proc/cmdline)"

server=""
callback=yes
for word in $(cat /proc/cmdline); do
  case "$word" in
    pxe_pilot_server=*) server=${word#*=} ;;
    pxe_pilot_callback=*) callback=${word#*=} ;;
  esac
done

call_back() {
  # virtio-net and what it needs, in modules.dep order (the test writes /modules/order).
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
  echo "PXE-PILOT-E2E: installed; calling back $server: pxe-pilot config deploy local --self"
  timeout 60 /bin/pxe-pilot -s "$server" config deploy local --self
  echo "PXE-PILOT-E2E: callback rc=$?"
}

if [ "$callback" = no ]; then
  echo "PXE-PILOT-E2E: pxe_pilot_callback=no: installed, no callback"
else
  call_back
fi
poweroff -f
