#!/bin/sh
# assetkit snapshot script, stream format 1.
# Prints the raw fact sources of this host as one stream on stdout; `assetkit` unpacks it into a
# snapshot directory (files/, commands/). Needs only a POSIX sh and coreutils. Reads, never writes,
# except one temporary file that it removes. Safe to run as any user: what it cannot read is absent.
export LC_ALL=C
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
PD=${ASSETKIT_PLUGINS_DIR:-/etc/assetkit/plugins.d}
PT=${ASSETKIT_PLUGIN_TIMEOUT:-10}
T=$(mktemp 2>/dev/null) || T=/tmp/assetkit-snap.$$
E=$T.err
L=$T.links
: > "$L"
trap 'rm -f "$T" "$E" "$L"' EXIT
trap 'exit 1' INT TERM
# to CMD...: CMD under a deadline where coreutils' timeout exists.
if command -v timeout >/dev/null 2>&1; then
  to() { timeout "$PT" "$@"; }
  HAS_TIMEOUT=1
else
  to() { "$@"; }
  HAS_TIMEOUT=
fi

# emit KIND NAME: one record, "<kind> <length> <name>\n" then the bytes of $T.
emit() {
  n=$(wc -c < "$T")
  printf '%s %d %s\n' "$1" "$n" "$2"
  cat "$T"
}
# f PATH...: each readable regular file as an F record.
f() {
  for p in "$@"; do
    [ -r "$p" ] || continue
    [ ! -d "$p" ] || continue
    [ ! -p "$p" ] || continue
    cat "$p" > "$T" 2>/dev/null && emit F "$p"
  done
}
# t PATH...: each readable text file as an F record, read by the shell itself: no process per
# file, which is most of this script's cost on a busy target. (Binary files go through f.)
t() {
  for p in "$@"; do
    [ -r "$p" ] || continue
    [ -f "$p" ] || continue
    c=
    l=
    { while IFS= read -r l; do c="$c$l
"; done; } < "$p" 2>/dev/null || continue
    c="$c$l"
    printf '%s %d %s\n%s' F "${#c}" "$p" "$c"
  done
}
# c NAME CMD...: the stdout of a command that succeeded as a C record.
c() {
  name=$1; shift
  "$@" > "$T" 2>/dev/null && emit C "$name"
}

echo "ASSETKIT-SNAPSHOT 1"

t /proc/sys/kernel/hostname /proc/sys/kernel/osrelease /etc/os-release /usr/lib/os-release \
  /etc/redhat-release /etc/hosts /proc/1/cgroup /run/systemd/container /run/.containerenv /.dockerenv \
  /sys/hypervisor/type /etc/assetkit/cert
# /proc files change between reads: one cat gives a consistent copy.
f /proc/cpuinfo /proc/meminfo /sys/firmware/dmi/tables/DMI /sys/firmware/dmi/tables/smbios_entry_point
for a in sys_vendor product_name product_version product_serial product_uuid product_sku product_family board_vendor \
  board_name board_serial bios_vendor bios_version bios_date chassis_type chassis_serial; do
  t "/sys/class/dmi/id/$a"
done
c uname-m uname -m

# SMBIOS through dmidecode only where the kernel does not expose the table (it needs root).
if [ ! -r /sys/firmware/dmi/tables/DMI ] && [ "$(id -u 2>/dev/null)" = 0 ]; then
  c dmidecode to dmidecode
fi

for d in /sys/block/*; do
  [ -e "$d" ] || continue
  printf '%s %s\n' "${d##*/}" "$(readlink -f "$d")" >> "$L"
  for a in size removable queue/rotational serial device/uevent device/model device/vendor device/rev \
    device/serial device/firmware_rev device/name; do
    t "$d/$a"
  done
  f "$d/device/vpd_pg80"
done
cat "$L" > "$T" && emit C readlink-sys-block

for d in /sys/class/net/*; do
  [ -e "$d" ] || continue
  [ "${d##*/}" = lo ] && continue
  for a in address operstate mtu device/uevent; do
    t "$d/$a"
  done
  # Reading speed fails (EINVAL) while the link is down: cat tells failure from emptiness.
  f "$d/speed"
done
c ip-addr ip -j addr || c ip-addr ip addr

# Drives behind a MegaRAID controller, only when one is present.
megaraid=
for x in /sys/bus/pci/drivers/megaraid_sas/*:*; do
  [ -e "$x" ] && megaraid=1 && break
done
if [ -n "$megaraid" ]; then
  for m in /opt/MegaRAID/MegaCli/MegaCli64 /opt/MegaRAID/MegaCli/MegaCli /usr/sbin/MegaCli64 /usr/sbin/MegaCli \
    /usr/sbin/megacli /usr/bin/MegaCli64 /usr/bin/megacli; do
    if [ -x "$m" ]; then
      c megacli-pdlist to "$m" -PDList -aALL -NoLog
      break
    fi
  done
fi

# Custom plugins: executables that print JSON. X = their stdout, Y = why they failed.
for p in "$PD"/*; do
  [ -f "$p" ] || continue
  [ -x "$p" ] || continue
  n=${p##*/}
  case $n in
    .* | *~ | *.error | *.disabled | *[!A-Za-z0-9_.-]*) continue ;;
  esac
  if to "$p" > "$T" 2> "$E" < /dev/null; then
    emit X "$n"
  else
    rc=$?
    if [ -n "$HAS_TIMEOUT" ] && [ "$rc" = 124 ]; then
      printf 'timed out after %ss' "$PT" > "$T"
    else
      msg=$(head -n 1 "$E" 2>/dev/null)
      if [ -n "$msg" ]; then
        printf 'exited with exit status: %s: %s' "$rc" "$msg" > "$T"
      else
        printf 'exited with exit status: %s' "$rc" > "$T"
      fi
    fi
    emit Y "$n"
  fi
done

echo "END"
