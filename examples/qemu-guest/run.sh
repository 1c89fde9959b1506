#!/usr/bin/env bash
# Boots a Linux guest under QEMU (10.1 or later) with the dma-engine sample as a vfio-user-pci
# device; the guest programs one copy through BAR 0 and checks the copied words.
#
#   QEMU=qemu-system-x86_64 KERNEL=/boot/vmlinuz-… BUSYBOX=/bin/busybox [ACCEL=kvm] examples/qemu-guest/run.sh
#
# BUSYBOX must be a static busybox with devmem; the kernel needs CONFIG_DEVMEM (Debian's has it);
# cpio and gzip build the initramfs.
# Nothing here is needed by the tests: it is a way to check the device against a real VMM.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${QEMU:=qemu-system-x86_64}" "${KERNEL:?set KERNEL to a bzImage}" "${BUSYBOX:?set BUSYBOX to a static busybox}"
for tool in cpio gzip; do command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed to build the initramfs" >&2; exit 1; }; done
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

mkdir -p "$work/initrd/bin"
cp "$BUSYBOX" "$work/initrd/bin/busybox"
cp "$here/guest-init" "$work/initrd/init"
chmod +x "$work/initrd/init"
(cd "$work/initrd" && find . | cpio -o -H newc 2>/dev/null | gzip >"$work/initrd.gz")

"$root/bin/vfio-user.js" serve dma-engine --socket-path "$work/vfu.sock" --trace >"$work/server.log" &
server=$!
for _ in $(seq 50); do [ -S "$work/vfu.sock" ] && break; sleep 0.1; done

# TCG by default (the guest boots in seconds); ACCEL=kvm where KVM can run the guest's kernel.
timeout "${TIMEOUT:-180}" "$QEMU" -machine "q35,accel=${ACCEL:-tcg}" -cpu max -m 512 -nographic -nodefaults -serial stdio -no-reboot \
  -object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem \
  -kernel "$KERNEL" -initrd "$work/initrd.gz" -append "console=ttyS0 quiet panic=-1" \
  -device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"path\":\"$work/vfu.sock\",\"type\":\"unix\"}}" | tee "$work/guest.log" | grep -ao 'GUEST:.*'
echo "commands QEMU sent the device: $(grep -c '<- command' "$work/server.log")"
grep -aq 'GUEST: copied words checked, 0 wrong' "$work/guest.log"
