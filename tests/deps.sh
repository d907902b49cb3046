#!/bin/sh
# tests/deps.sh install|check - the Debian packages shiproom needs to build
# and to run its whole test suite. `install` (as root) installs only what is
# missing; as another user, or with `check`, it prints the exact command.
set -eu

PKGS="make gcc clang pkg-config libncurses-dev libuv1-dev libcurl4-openssl-dev
libjansson-dev libcmocka-dev tmux libclang-rt-14-dev htop python3 locales
prometheus haproxy curl openssh-server openssh-client clang-format
etcd-server etcd-client"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	exit 0
fi

cmd="apt-get install -y --no-install-recommends$missing"
if [ "${1:-check}" = install ] && [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine has no package lists yet; refresh them once.
	apt-get update -qq
	$cmd
	exit 0
fi

echo "deps: missing packages:$missing" >&2
echo "deps: run as root: apt-get update && $cmd" >&2
exit 1
