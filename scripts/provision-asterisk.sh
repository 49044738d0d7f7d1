#!/usr/bin/env bash
# Provision (or verify) the Debian sid root that holds the Asterisk used by the
# test suite and the benchmarks. See README.md ("Tests") and tests/harness/.
#
#   scripts/provision-asterisk.sh           build the root if missing or broken
#   scripts/provision-asterisk.sh --check   only verify; exit 1 if not usable
#   scripts/provision-asterisk.sh --force   rebuild even if the root verifies
#
# Root path: $ARI_PROXY_ASTERISK_ROOT, default /var/cache/ari-proxy/asterisk-root.
# The root is built in "<root>.tmp" and renamed into place only once it is
# complete, fixed up and verified; "<root>/.ari-proxy-root" marks a finished
# root. A finished debootstrap left in "<root>.tmp" (for example by a manual
# run) is adopted instead of rebuilt. Needs root privileges, debootstrap and a
# reachable Debian mirror (debootstrap's default). Takes about 70 s to build.
set -euo pipefail

ROOT="${ARI_PROXY_ASTERISK_ROOT:-/var/cache/ari-proxy/asterisk-root}"
ROOT="${ROOT%/}"
TMP="${ROOT}.tmp"
MARKER_NAME=".ari-proxy-root"
SUITE="sid"
PACKAGES="asterisk,asterisk-core-sounds-en-gsm"
MODE="ensure"

case "${1:-}" in
  "") ;;
  --check) MODE="check" ;;
  --force) MODE="force" ;;
  -h | --help)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "provision-asterisk: unknown argument \"$1\" (try --help)" >&2
    exit 2
    ;;
esac

log() { echo "provision-asterisk: $*" >&2; }
die() {
  log "$*"
  exit 1
}

case "$(uname -m)" in
  x86_64) LOADER="lib64/ld-linux-x86-64.so.2" TRIPLE="x86_64-linux-gnu" ;;
  aarch64) LOADER="lib/ld-linux-aarch64.so.1" TRIPLE="aarch64-linux-gnu" ;;
  *) die "unsupported machine \"$(uname -m)\" (need x86_64 or aarch64)" ;;
esac

# Runs the root's asterisk through the root's own loader (no chroot needed).
root_asterisk() {
  local dir="$1"
  shift
  "$dir/$LOADER" --library-path "$dir/usr/lib/$TRIPLE:$dir/lib/$TRIPLE" \
    "$dir/usr/sbin/asterisk" "$@"
}

# A debootstrap run that finished successfully removes <target>/debootstrap.
complete_bootstrap() {
  local dir="$1"
  [ -d "$dir" ] && [ ! -e "$dir/debootstrap" ] && [ -x "$dir/usr/sbin/asterisk" ] &&
    root_asterisk "$dir" -V >/dev/null 2>&1
}

verify() {
  local dir="$1" version
  [ -f "$dir/$MARKER_NAME" ] || return 1
  version="$(root_asterisk "$dir" -V 2>/dev/null)" || return 1
  case "$version" in Asterisk\ *) ;; *) return 1 ;; esac
  [ -d "$dir/usr/lib/$TRIPLE/asterisk/modules" ] || return 1
  [ -r "$dir/usr/share/asterisk/sounds/en/hello-world.gsm" ] || return 1
  return 0
}

# Unmounts anything left mounted below a directory (e.g. a chroot's /proc).
unmount_below() {
  local dir="$1" mnt
  while read -r _ mnt _; do
    case "$mnt" in "$dir" | "$dir"/*) umount -l "$mnt" || true ;; esac
  done < <(tac /proc/mounts)
}

remove_tree() {
  local dir="$1"
  [ -e "$dir" ] || return 0
  unmount_below "$dir"
  rm -rf --one-file-system -- "$dir"
}

debootstrap_running_on() {
  pgrep -f -- "debootstrap.*[[:space:]]${1}([[:space:]]|$)" >/dev/null 2>&1
}

# Ownership/permission fixups (Asterisk drops capabilities, so files owned by
# the package's asterisk user are unreadable to it when run as root) and
# relative sound links so prompts resolve with and without chroot.
fixup() {
  local dir="$1"
  chroot "$dir" sh -c 'chown -R root:root /etc/asterisk /usr/share/asterisk /var/lib/asterisk /var/spool/asterisk /var/log/asterisk /var/cache/asterisk; chmod -R a+rX /etc/asterisk; mkdir -p /var/run/asterisk'
  local sounds="$dir/usr/share/asterisk/sounds"
  [ -d "$sounds/en_US_f_Allison" ] || die "no English prompts in $sounds (package asterisk-core-sounds-en-gsm missing)"
  ln -sfn en_US_f_Allison "$sounds/en"
  ln -sfn en_US_f_Allison "$sounds/en_US"
  {
    echo "suite=$SUITE"
    echo "packages=$PACKAGES"
    echo "asterisk=$(root_asterisk "$dir" -V)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$dir/$MARKER_NAME"
}

install_tmp() {
  # Moves a fixed-up, verified $TMP into place, replacing a broken $ROOT.
  if [ -e "$ROOT" ]; then
    local old="${ROOT}.broken.$$"
    mv -T -- "$ROOT" "$old"
    remove_tree "$old"
  fi
  mv -T -- "$TMP" "$ROOT"
}

if [ "$MODE" = "check" ]; then
  if verify "$ROOT"; then
    log "ok: $ROOT ($(root_asterisk "$ROOT" -V))"
    exit 0
  fi
  log "missing or broken: $ROOT (run scripts/provision-asterisk.sh as root to build it)"
  exit 1
fi

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot need it): sudo $0"
mkdir -p -- "$(dirname -- "$ROOT")"

# One provisioning at a time (parallel test processes may call this script).
exec 9>"${ROOT}.lock"
if ! flock -n 9; then
  log "waiting for another provisioning run (lock ${ROOT}.lock)"
  flock 9
fi

if [ "$MODE" = "ensure" ] && verify "$ROOT"; then
  log "ok: $ROOT ($(root_asterisk "$ROOT" -V))"
  exit 0
fi

# An unmarked but complete root (built by hand): fix it up instead of rebuilding.
if [ "$MODE" = "ensure" ] && complete_bootstrap "$ROOT"; then
  log "adopting unmarked root $ROOT"
  fixup "$ROOT"
  verify "$ROOT" && {
    log "ok: $ROOT ($(root_asterisk "$ROOT" -V))"
    exit 0
  }
  log "adopted root still fails verification; rebuilding"
fi

if debootstrap_running_on "$TMP"; then
  log "a debootstrap into $TMP is running; waiting for it (up to 20 min)"
  for _ in $(seq 1 240); do
    debootstrap_running_on "$TMP" || break
    sleep 5
  done
  debootstrap_running_on "$TMP" && die "debootstrap into $TMP still running after 20 min"
fi

start=$(date +%s)
if [ "$MODE" = "ensure" ] && complete_bootstrap "$TMP"; then
  log "adopting finished debootstrap in $TMP"
else
  command -v debootstrap >/dev/null 2>&1 ||
    die "debootstrap not found on PATH: install it with \`apt-get install -y debootstrap\`"
  remove_tree "$TMP"
  log "building $ROOT (debootstrap --variant=minbase --include=$PACKAGES $SUITE; about 70 s)"
  build_log="${ROOT}.debootstrap.log"
  if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$TMP" >"$build_log" 2>&1; then
    tail -n 30 "$build_log" >&2 || true
    [ -f "$TMP/debootstrap/debootstrap.log" ] && tail -n 30 "$TMP/debootstrap/debootstrap.log" >&2
    remove_tree "$TMP"
    die "debootstrap failed (full log: $build_log)"
  fi
fi

unmount_below "$TMP"
fixup "$TMP"
if ! verify "$TMP"; then
  root_asterisk "$TMP" -V >&2 || true
  die "the new root in $TMP does not verify (asterisk -V through its loader failed or prompts are missing); left in place for inspection"
fi
install_tmp
log "ok: $ROOT ($(root_asterisk "$ROOT" -V)) in $(($(date +%s) - start)) s"
