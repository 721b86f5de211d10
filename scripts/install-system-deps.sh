#!/usr/bin/env bash
# Install the Debian packages that save-relay's tests need (run as root; idempotent, no tty needed).
#
#   dovecot-imapd   a real IMAP server (IDLE, MOVE, UIDPLUS) for the IMAP intake tests; the tests
#                   start their own throwaway instance on a free loopback port, never the system one.
#   swaks           the SMTP test client the README's first steps use.
#
# Packages whose binaries are already present are skipped, so a second run does nothing (and needs no
# network). The Debian package would start a system Dovecot on ports 143/993: this script stops and
# disables it; nothing in save-relay or its tests depends on it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# "binary-that-proves-it-is-installed:package" pairs; add yours here.
WANTED=(
  "/usr/sbin/dovecot:dovecot-imapd"
  "/usr/bin/swaks:swaks"
)

missing=()
for pair in "${WANTED[@]}"; do
  binary=${pair%%:*}
  package=${pair#*:}
  if [ ! -x "$binary" ]; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-system-deps: nothing to do (all present)"
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  # Keep maintainer scripts from starting services during the install (as in Debian's container images).
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_added=yes
  fi
  cleanup() { if [ -n "$policy_added" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup EXIT
  echo "install-system-deps: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
fi

# Never leave a system Dovecot holding 143/993 (whether this run installed it or an earlier one did).
if [ -x /usr/sbin/dovecot ]; then
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
  else
    if command -v update-rc.d >/dev/null 2>&1; then
      update-rc.d dovecot disable >/dev/null 2>&1 || true
    fi
    if [ -x /etc/init.d/dovecot ]; then
      /etc/init.d/dovecot stop >/dev/null 2>&1 || true
    fi
  fi
fi
echo "install-system-deps: ok"
