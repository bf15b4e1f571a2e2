#!/usr/bin/env bash
# install-chromium.sh makes sure Debian's chromium is installed for the
# browser test (e2e TestSingleBrowserShopper): when it is missing and the
# machine allows it, it runs `apt-get update` then
# `apt-get install -y chromium` (as root, or through passwordless sudo) and
# says what it installed. It never fails the build itself: when chromium
# cannot be installed it says so, and the browser test then fails naming
# the package.
set -u
if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
say() { echo "install-chromium: $*"; }
sudo=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo="sudo -n"
	else
		say "chromium is missing and this user cannot install packages; the browser test will fail (install the Debian package chromium)"
		exit 0
	fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
	say "chromium is missing and there is no apt-get; the browser test will fail (install the Debian package chromium)"
	exit 0
fi
say "installing the Debian package chromium for the browser test: apt-get update, apt-get install -y chromium"
if $sudo apt-get update -q >/dev/null &&
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null; then
	say "installed $(dpkg-query -W -f='${Package} ${Version}' chromium 2>/dev/null): $(command -v chromium)"
else
	say "apt-get could not install chromium; the browser test will fail (install the Debian package chromium)"
fi
exit 0
