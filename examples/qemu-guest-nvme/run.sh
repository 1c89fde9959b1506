#!/usr/bin/env bash
# Boots a Linux guest under QEMU (10.1 or later) with the nvme sample as a vfio-user-pci device, and
# checks that the guest uses it as a disk across reboots:
#   QEMU run 1, boot 1: the stock nvme driver binds, mke2fs, mount, write files, record sha256, reboot;
#   QEMU run 1, boot 2 (same QEMU, device reset): mount, sha256sum -c;
#   QEMU run 2 (a new client of the same server):  mount, sha256sum -c;
#   (host) the backing file holds the ext2 filesystem (superblock magic 0xEF53 at byte 1080);
#   QEMU run 3 (a new server on the same backing file): mount, sha256sum -c.
# Prints PASS or FAIL (and exits 0 or 1).
#
#   QEMU=qemu-system-x86_64 KERNEL=/boot/vmlinuz-… MODULES=/lib/modules/… BUSYBOX=/bin/busybox \
#     [LSPCI=/usr/bin/lspci] [MEMORY=shared|message] [ACCEL=kvm] examples/qemu-guest-nvme/run.sh
#
# KERNEL: a bzImage whose nvme driver, ext4 (or ext2) and their dependencies are built in or are
#   modules under MODULES (a /lib/modules/<version> tree, e.g. an unpacked linux-modules .deb; .ko,
#   .ko.xz, .ko.zst and .ko.gz are taken, and their depends= followed). Debian's kernel has them as modules.
# BUSYBOX: a static busybox (with mke2fs, sha256sum, insmod; Debian's busybox-static has them).
# LSPCI (optional): a dynamically linked lspci; it and the libraries ldd lists go into the initramfs
#   (SYSROOT=/some/chroot when that lspci lives in a chroot: ldd then runs there).
# MEMORY=shared (default): guest RAM is a shared memfd, which QEMU passes to the server (DMA by mmap).
#   MEMORY=message: plain guest RAM; the server reaches it with DMA_READ/DMA_WRITE messages.
# QEMU may be a command with words (e.g. "chroot /srv/sid qemu-system-x86_64"; WORKDIR must then be
#   visible at the same path inside); QEMU_EXTRA adds arguments (e.g. "-trace vfio_user_send_write"). SIZE (256M) and BLOCK_SIZE (512) shape the namespace. TCG by
#   default: each boot takes tens of seconds. TRACE=1 runs the server with --trace (every message,
#   in serverN.log). KEEP=1 keeps the work directory (logs, disk.img); a WORKDIR of yours is kept.
# Nothing here is needed by the tests: it is a way to check the device against a real VMM and driver.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${QEMU:=qemu-system-x86_64}" "${KERNEL:?set KERNEL to a bzImage}" "${BUSYBOX:?set BUSYBOX to a static busybox}"
: "${MODULES:=}" "${MEMORY:=shared}" "${SIZE:=256M}" "${BLOCK_SIZE:=512}" "${TIMEOUT:=900}"
read -ra qemu <<<"$QEMU"
read -ra qemu_extra <<<"${QEMU_EXTRA:-}"
for tool in cpio gzip; do command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed to build the initramfs" >&2; exit 1; }; done
if [ -n "${WORKDIR:-}" ]; then work=$WORKDIR; KEEP=1; mkdir -p "$work"; else work=$(mktemp -d); fi
server=
stop_server() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=; fi; }
cleanup() { stop_server; if [ "${KEEP:-0}" = 1 ]; then echo "run.sh: logs and disk.img in $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

# --- the initramfs: busybox, init, modules (dependencies first), optionally lspci ---
rm -rf "$work/initrd" "$work/disk.img" "$work"/*.log
mkdir -p "$work/initrd/bin" "$work/initrd/lib/modules"
cp "$BUSYBOX" "$work/initrd/bin/busybox"
cp "$here/guest-init" "$work/initrd/init"
chmod +x "$work/initrd/init"
if [ -n "$MODULES" ]; then
  declare -A seen=()
  module() { # copies module $1 (uncompressed) and, first, what it depends on; appends it to load-order
    local name=${1//_/-} file deps d
    [ -n "${seen[$name]:-}" ] && return 0; seen[$name]=1
    file=$(find "$MODULES" -regextype posix-extended -regex ".*/(${name}|${name//-/_})\.ko(\.xz|\.zst|\.gz)?" | head -1)
    [ -n "$file" ] || { echo "run.sh: no module $name under $MODULES (built in?)" >&2; return 0; }
    case $file in
      *.xz) xz -dc "$file" ;; *.zst) zstd -qdc "$file" ;; *.gz) gzip -dc "$file" ;; *) cat "$file" ;;
    esac >"$work/initrd/lib/modules/$name.ko"
    deps=$(tr '\0' '\n' <"$work/initrd/lib/modules/$name.ko" | sed -n 's/^depends=//p' | head -1)
    for d in ${deps//,/ }; do module "$d"; done
    echo "$name" >>"$work/initrd/lib/modules/load-order"
  }
  for m in nvme-core nvme crc16 mbcache jbd2 ext4; do module "$m"; done
fi
if [ -n "${LSPCI:-}" ]; then
  sysroot=${SYSROOT:-}
  ldd_() { if [ -n "$sysroot" ]; then chroot "$sysroot" ldd "$1"; else ldd "$1"; fi; }
  for f in "$LSPCI" $(ldd_ "$LSPCI" | grep -o '/[^ ]*'); do
    mkdir -p "$work/initrd$(dirname "$f")"; cp -L "$sysroot$f" "$work/initrd$f"
  done
  [ "$(basename "$LSPCI")" = lspci ] || ln -sf "$LSPCI" "$work/initrd/bin/lspci"
fi
(cd "$work/initrd" && find . | cpio -o -H newc 2>/dev/null | gzip >"$work/initrd.gz")

# --- server and guests ---
start_server() { # $1: log name; $2...: extra serve options
  local log=$1; shift
  rm -f "$work/vfu.sock"
  node "$root/bin/vfio-user.js" serve nvme --socket-path "$work/vfu.sock" --backing "$work/disk.img" --block-size "$BLOCK_SIZE" -v ${TRACE:+--trace} "$@" \
    >"$work/$log" 2>&1 &
  server=$!
  for _ in $(seq 100); do [ -S "$work/vfu.sock" ] && return 0; sleep 0.1; done
  echo "run.sh: the server did not listen; its log:" >&2; cat "$work/$log" >&2; exit 1
}
ram=(-m 512)
[ "$MEMORY" = shared ] && ram=(-m 512 -object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem)
guest() { # $1: log name. One QEMU process; the guest may reboot itself (no -no-reboot) and powers off at the end.
  local t0=$SECONDS
  timeout "$TIMEOUT" "${qemu[@]}" -machine "q35,accel=${ACCEL:-tcg}" -cpu max "${ram[@]}" -smp 2 -nographic -nodefaults -serial stdio \
    -kernel "$KERNEL" -initrd "$work/initrd.gz" -append "console=ttyS0 quiet panic=-1" \
    -device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"path\":\"$work/vfu.sock\",\"type\":\"unix\"}}" \
    "${qemu_extra[@]}" </dev/null >"$work/$1" 2>&1 || echo "GUEST: QEMU exited with status $?" >>"$work/$1"
  grep -ao 'GUEST:.*' "$work/$1" | tr -d '\r'
  echo "run.sh: $1: $((SECONDS - t0)) s"
}
verdicts=()
expect() { # $1: log, $2: pattern, $3: what
  if grep -aq "$2" "$work/$1"; then verdicts+=("ok   $3"); else verdicts+=("FAIL $3"); fi
}

echo "== server 1: serve nvme --backing disk.img --size $SIZE --block-size $BLOCK_SIZE; memory $MEMORY"
start_server server1.log --size "$SIZE"
echo "== QEMU run 1: boot 1 writes, reboots; boot 2 verifies"
guest qemu1.log
expect qemu1.log 'GUEST: WROTE' "boot 1: driver bound, ext2 made and mounted, files written"
expect qemu1.log 'GUEST: VERIFY PASS' "boot 2 (guest reboot, same QEMU and server): files read back identical"
echo "== QEMU run 2: a new QEMU, the same server"
guest qemu2.log
expect qemu2.log 'GUEST: VERIFY PASS' "boot 3 (new QEMU, same server): files read back identical"
stop_server
magic=$(od -An -tx1 -j1080 -N2 "$work/disk.img" | tr -d ' ')
echo "host: disk.img $(stat -c %s "$work/disk.img") bytes; bytes at 1080: $magic; $(file -b "$work/disk.img" 2>/dev/null || true)"
if [ "$magic" = 53ef ]; then verdicts+=("ok   host: disk.img holds an ext2 superblock (0xEF53 at 1080)"); else verdicts+=("FAIL host: no ext2 magic in disk.img"); fi
echo "== server 2 on the same backing file; QEMU run 3"
start_server server2.log
guest qemu3.log
expect qemu3.log 'GUEST: VERIFY PASS' "boot 4 (new server, same backing file): files read back identical"
stop_server
printf '%s\n' "${verdicts[@]}"
if printf '%s\n' "${verdicts[@]}" | grep -q '^FAIL'; then echo FAIL; exit 1; fi
echo PASS
exit 0
