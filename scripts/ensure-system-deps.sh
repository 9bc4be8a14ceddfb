#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real (Chromium, Firefox ESR, WebKitGTK, ffmpeg/ffprobe, nginx, openssl, iproute2, nftables, libsrt + gcc, srt-tools) when they are missing.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The browser-matrix suite drives Debian's Firefox ESR through puppeteer-core (WebDriver BiDi).
command -v firefox-esr >/dev/null 2>&1 || need+=(firefox-esr)
# The stock-Firefox and uplink suites build their own network namespaces with `unshare -n` and `nsenter` (util-linux,
# always there), `ip` and `tc` (both from iproute2).
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need+=(iproute2)
# The emulated-network suite drops the viewer's packets with nft inside its own namespace (nftables).
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
# The browser-matrix suite watches in WebKitGTK's MiniBrowser, driven by WebKitWebDriver on an Xvfb display of its own;
# its MSE needs plugins-bad's h264parse/opusparse (libgstvideoparsersbad, libgstopusparse) to accept avc1 and opus.
command -v WebKitWebDriver >/dev/null 2>&1 || need+=(webkit2gtk-driver)
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
compgen -G '/usr/lib/*/gstreamer-1.0/libgstvideoparsersbad.so' >/dev/null || need+=(gstreamer1.0-plugins-bad)
# libav's avdec_h264 outranks openh264dec: the decoder the suite's WebKit frame-rate floor was measured with.
compgen -G '/usr/lib/*/gstreamer-1.0/libgstlibav.so' >/dev/null || need+=(gstreamer1.0-libav)
# The security suites make their certificates and decrypt media with the openssl command.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The SRT ingest builds its listener (server/ingest/srt/srt-listener.c) against libsrt with gcc and pkg-config; its tests
# publish with ffmpeg and with srt-live-transmit (srt-tools).
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# The C library's headers: Debian's gcc only recommends them, and recommends are not installed here.
[ -f /usr/include/stdio.h ] || need+=(libc6-dev)
[ -f /usr/include/srt/srt.h ] || need+=(libsrt-openssl-dev)
command -v srt-live-transmit >/dev/null 2>&1 || need+=(srt-tools)
# The nginx edge suite starts Debian's nginx itself (nginx-light has the proxy cache and gzip it needs).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "swarmcast: installing Debian packages the tests need: ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "swarmcast: missing ${need[*]} and not root: install them with apt-get and run the tests again" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
