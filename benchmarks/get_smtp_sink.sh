#!/usr/bin/env bash
# Postfix's smtp-sink (a C SMTP server made for benchmarks) for benchmarks/digest_speed.py, without installing
# Postfix: its Debian package is downloaded and unpacked into benchmarks/out/postfix (nothing runs as a daemon).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/out/postfix"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download postfix)
rm -rf "$dest" && mkdir -p "$dest"
dpkg-deb -x "$tmp"/postfix_*.deb "$dest"
LD_LIBRARY_PATH="$dest/usr/lib/postfix" ldd "$dest/usr/sbin/smtp-sink" | grep -q "not found" && {
  echo "smtp-sink misses libraries:" >&2; LD_LIBRARY_PATH="$dest/usr/lib/postfix" ldd "$dest/usr/sbin/smtp-sink" >&2; exit 1; }
echo "smtp-sink: $dest/usr/sbin/smtp-sink"
