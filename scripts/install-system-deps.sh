#!/usr/bin/env bash
# Install the Debian packages that save-relay's tests need (run as root; idempotent, no tty needed).
#
#   dovecot-imapd   a real IMAP server (IDLE, MOVE, UIDPLUS) for the IMAP intake tests; the tests
#                   start their own throwaway instance on a free loopback port, never the system one.
#   swaks           the SMTP test client the README's first steps use.
#   postfix         /usr/sbin/smtp-sink, the fast counting SMTP sink of the throughput benchmarks
#                   (bench/postfix_sink.py), and the binaries tests/postfix/ runs as a throwaway
#                   instance (`postfix -c TMPDIR/etc start`, its own queue, loopback only). The system
#                   Postfix is neither configured nor run.
#   systemd         only for /usr/bin/systemd-analyze, which checks contrib/systemd/save-relay.service
#                   (tests/ops/); in a container without systemd as PID 1 nothing of it runs.
#   chromium,       the real browser of the web console's tests (tests/browser/, driven by Selenium
#   chromium-driver through /usr/bin/chromedriver, headless); neither starts a service.
#
# Packages whose binaries are already present are skipped, so a second run does nothing (and needs no
# network). Postfix is installed non-interactively with "No configuration" preseeded in debconf (no
# main.cf is written). The Debian packages would start a system Dovecot on ports 143/993 and a system
# Postfix on port 25: this script stops and disables both; nothing in save-relay or its tests depends
# on them.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# "binary-that-proves-it-is-installed:package" pairs; add yours here.
WANTED=(
  "/usr/sbin/dovecot:dovecot-imapd"
  "/usr/bin/swaks:swaks"
  "/usr/sbin/smtp-sink:postfix"
  "/usr/bin/chromium:chromium"
  "/usr/bin/chromedriver:chromium-driver"
  "/usr/bin/systemd-analyze:systemd"
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
  if [[ " ${missing[*]} " == *" postfix "* ]]; then
    # No questions, and no main.cf: the benchmarks use only smtp-sink, the tests their own config dir.
    debconf-set-selections <<EOF
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string $(hostname)
EOF
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
fi

# Never leave a system service running or enabled (whether this run installed it or an earlier one did):
# Dovecot would hold 143/993, Postfix 25.
disable_service() {  # the init script's name, then its systemd units
  local name=$1
  shift
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now "$@" >/dev/null 2>&1 || true
  else
    if command -v update-rc.d >/dev/null 2>&1; then
      update-rc.d "$name" disable >/dev/null 2>&1 || true
    fi
    if [ -x "/etc/init.d/$name" ]; then
      "/etc/init.d/$name" stop >/dev/null 2>&1 || true
    fi
  fi
}
if [ -x /usr/sbin/dovecot ]; then
  disable_service dovecot dovecot.service dovecot.socket
fi
if [ -x /usr/sbin/postfix ]; then
  disable_service postfix postfix.service postfix@-.service
fi
echo "install-system-deps: ok"
