#!/usr/bin/env bash
# Installs what building and testing need on a Debian/Ubuntu machine, if it is
# missing: libclang (bindgen, for bpf-sys), the kernel uapi headers
# (linux/bpf.h), LLVM 19 (llvm-mc-19, for the differential test), libbpf
# (the C ring buffer consumer the map benchmark compares against) and tcpdump
# (reads back the capture files the tests write; the capture benchmark's
# libpcap baseline).
# Run as root, or it uses sudo. Does nothing when everything is present.
set -euo pipefail

packages=(libclang-dev linux-libc-dev llvm-19 libbpf-dev tcpdump)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v cargo >/dev/null; then
  echo "setup: cargo is not on PATH; install Rust 1.95 or newer (rustup.rs)" >&2
  exit 1
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "setup: please install the equivalents of: ${missing[*]} (libclang, kernel uapi headers, llvm-mc 19, tcpdump)" >&2
  exit 1
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
