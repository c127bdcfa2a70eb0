#!/bin/sh
# udhcpc event script: configure the lease (busybox udhcpc does nothing by itself).
case "$1" in
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    [ -n "$router" ] && route add default gw "${router%% *}" dev "$interface"
    echo "PXE-PILOT-E2E: DHCP lease $ip via ${router:-none}"
    ;;
  deconfig)
    ifconfig "$interface" 0.0.0.0
    ;;
esac
exit 0
