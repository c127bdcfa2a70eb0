#!/bin/busybox sh
# /init of the HTTP-booted installer's initramfs (tests/e2e/http_boot.rs builds it; iPXE
# fetches it from a plain HTTP file server, after the script pxe-pilot rendered for the host).
# It shows the kernel command line the rendered script gave it, then plays an installer's
# last step unless `pxe_pilot_callback=no`: bring the network up and tell pxe-pilot "boot me
# locally from now on" with the static `pxe-pilot` CLI. Then it powers off. Every line the
# test looks for starts with PXE-PILOT-E2E.
. /installer-lib.sh
start_guest
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
  network_up
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
