#!/usr/bin/env bash
# ensure-varnish.sh installs Debian's varnish and varnish-modules (varnishd
# and the xkey vmod, which the end-to-end tests run) when they are missing
# and this machine allows it: as root, or with passwordless sudo, through
# apt-get (with one apt-get update first). The service the package starts,
# if any, is stopped again: the tests start their own varnishd. It never
# fails `make test` by itself: where it cannot install, it says so and the
# tests that need Varnish fail naming the packages.
set -uo pipefail
pkgs=(varnish varnish-modules)

installed() {
	local p
	for p in "${pkgs[@]}"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || return 1
	done
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-varnish: not a Debian system (no dpkg/apt-get): install ${pkgs[*]} yourself; the Varnish tests fail without them" >&2
	exit 0
fi
if installed; then
	exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	echo "ensure-varnish: ${pkgs[*]} missing and neither root nor passwordless sudo: the Varnish tests will fail until they are installed" >&2
	exit 0
fi
echo "ensure-varnish: installing ${pkgs[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get update -qq ||
	! "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; then
	echo "ensure-varnish: apt-get could not install ${pkgs[*]}: the Varnish tests will fail" >&2
	exit 0
fi
# Debian starts the packaged service where systemd runs; the tests do not
# use it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet varnish 2>/dev/null; then
	"${as_root[@]}" systemctl disable --now varnish varnishncsa >/dev/null 2>&1 || true
fi
installed && echo "ensure-varnish: installed $(dpkg-query -W -f='${Package} ${Version}  ' "${pkgs[@]}")"
exit 0
