#!/usr/bin/env bash
# ensure-chromium.sh installs Debian's chromium, which the browser test
# (e2e TestSingleBrowserShopper) drives, when it is missing and this
# machine allows it: as root, or with passwordless sudo, through apt-get.
# It runs apt-get update first unless the package lists were updated in
# the last hour (ensure-varnish.sh may just have done it), so make test
# updates them once. It says what it installed. It never fails make test
# by itself: where it cannot install, it says so and the browser test
# fails naming the package.
set -uo pipefail
pkg=chromium

installed() { [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ]; }

if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-chromium: not a Debian system (no dpkg/apt-get): install chromium yourself (or set SHOPEDGE_CHROMIUM); the browser test fails without it" >&2
	exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	echo "ensure-chromium: chromium missing and neither root nor passwordless sudo: the browser test will fail until the package chromium is installed" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | head -1)" ]; then
	echo "ensure-chromium: apt-get update"
	"${as_root[@]}" apt-get update -qq || echo "ensure-chromium: apt-get update failed; trying the install anyway" >&2
fi
echo "ensure-chromium: installing chromium with apt-get (for the browser test)"
if ! "${as_root[@]}" apt-get install -y -qq "$pkg" >/dev/null || ! installed; then
	echo "ensure-chromium: apt-get could not install chromium: the browser test will fail" >&2
	exit 0
fi
echo "ensure-chromium: installed $(dpkg-query -W -f='${Package} ${Version}' "$pkg") at $(command -v chromium)"
exit 0
