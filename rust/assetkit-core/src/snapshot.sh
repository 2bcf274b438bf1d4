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
t /sys/hypervisor/uuid
for a in sys_vendor product_name product_version product_serial product_uuid product_sku product_family board_vendor \
  board_name board_serial board_asset_tag bios_vendor bios_version bios_date chassis_type chassis_serial \
  chassis_asset_tag; do
  t "/sys/class/dmi/id/$a"
done
c uname-m uname -m

# Guests of a hypervisor (the guests plugin): each directory that exists, then its guest files
# within the plugin's limits: one file past 4096 is sent, so that the plugin fails as it does
# live; a file over 1 MiB is not sent (live, it is skipped with a warning).
for d in /etc/libvirt/qemu /run/libvirt/qemu /etc/pve/qemu-server /etc/pve/lxc; do
  [ -d "$d" ] || continue
  printf 'D 0 %s\n' "$d"
  n=0
  for p in "$d"/*.xml "$d"/*.conf; do
    [ -f "$p" ] || continue
    [ -r "$p" ] || continue
    n=$((n + 1))
    [ "$n" -le 4097 ] || break
    [ "$(wc -c < "$p")" -le 1048576 ] 2>/dev/null && t "$p"
  done
done

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

# RAID controller tools, each only when its controller's driver is bound and the tool is
# installed. The SCSI hosts' driver names go into the snapshot: the disk plugin reads them too.
drv=" "
for h in /sys/class/scsi_host/host*; do
  [ -r "$h/proc_name" ] || continue
  t "$h/proc_name"
  n=
  read -r n < "$h/proc_name" 2>/dev/null
  drv="$drv$n "
done
# cciss (old Smart Arrays) has no SCSI host: its proc file says it is there.
if [ -r /proc/driver/cciss/cciss0 ]; then
  t /proc/driver/cciss/cciss0
  drv="${drv}cciss "
fi
for n in megaraid_sas mpi3mr hpsa smartpqi cciss aacraid; do
  for x in /sys/bus/pci/drivers/"$n"/*:*; do
    [ -e "$x" ] && drv="$drv$n " && break
  done
done
# first PROGRAM...: the first executable of the list, in $m.
first() {
  m=
  for p in "$@"; do
    [ -x "$p" ] && m=$p && return 0
  done
  return 1
}
case $drv in
  *" megaraid_sas "* | *" mpi3mr "*)
    if first /opt/MegaRAID/storcli/storcli64 /opt/MegaRAID/storcli/storcli /usr/sbin/storcli64 /usr/sbin/storcli \
      /usr/bin/storcli64 /usr/bin/storcli /usr/local/sbin/storcli64 /opt/MegaRAID/storcli2/storcli2 /usr/sbin/storcli2 \
      /usr/bin/storcli2; then
      c storcli-show-all-json to "$m" /call show all J
      c storcli-drives-json to "$m" /call/eall/sall show all J
    elif first /opt/MegaRAID/perccli/perccli64 /opt/MegaRAID/perccli/perccli /opt/MegaRAID/perccli2/perccli2 \
      /usr/sbin/perccli64 /usr/sbin/perccli /usr/sbin/perccli2 /usr/bin/perccli64 /usr/bin/perccli /usr/bin/perccli2; then
      c perccli-show-all-json to "$m" /call show all J
      c perccli-drives-json to "$m" /call/eall/sall show all J
    fi
    ;;
esac
case $drv in
  *" hpsa "* | *" smartpqi "* | *" cciss "*)
    if first /usr/sbin/ssacli /opt/smartstorageadmin/ssacli/bin/ssacli /usr/bin/ssacli /usr/sbin/hpssacli \
      /opt/hp/hpssacli/bld/hpssacli /usr/sbin/hpacucli /opt/compaq/hpacucli/bld/hpacucli; then
      c ssacli-config-detail to "$m" ctrl all show config detail
    fi
    ;;
esac
case $drv in
  *" aacraid "* | *" smartpqi "*)
    if first /usr/sbin/arcconf /usr/bin/arcconf /usr/Arcconf/arcconf /usr/StorMan/arcconf /opt/StorMan/arcconf; then
      # One GETCONFIG per controller; the first says how many there are. (emit uses $n.)
      ai=1
      ak=1
      while [ "$ai" -le "$ak" ] && [ "$ai" -le 64 ]; do
        c "arcconf-getconfig-$ai" to "$m" GETCONFIG "$ai" AL || break
        if [ "$ai" = 1 ]; then
          ak=$(sed -n 's/^Controllers [fF]ound: *\([0-9][0-9]*\).*/\1/p' "$T" | head -n 1)
          ak=${ak:-1}
        fi
        ai=$((ai + 1))
      done
    fi
    ;;
esac

# NVMe through nvme-cli only where sysfs lacks a disk's model, serial or firmware.
for d in /sys/block/nvme*; do
  [ -e "$d" ] || continue
  if [ ! -r "$d/device/firmware_rev" ] || [ ! -r "$d/device/serial" ] || [ ! -r "$d/device/model" ]; then
    command -v nvme >/dev/null 2>&1 && c nvme-list-json to nvme list -o json
    break
  fi
done

# NIC firmware where the driver puts it in sysfs (Mellanox); Fibre Channel HBA ports.
for x in /sys/class/net/*/device/infiniband/*/fw_ver; do
  t "$x"
done
for h in /sys/class/fc_host/host*; do
  [ -e "$h" ] || continue
  t "$h/port_name" "$h/node_name" "$h/port_state" "$h/speed"
done

# LLDP neighbours, only while lldpd runs.
if [ -e /run/lldpd.socket ] || [ -e /var/run/lldpd.socket ]; then
  if command -v lldpctl >/dev/null 2>&1; then
    c lldpctl-json to lldpctl -f json || c lldpctl-keyvalue to lldpctl -f keyvalue
  fi
fi

# GPUs and accelerators: PCI classes 0x03 and 0x12, read by the shell (no process per function).
gpu=
for fn in /sys/bus/pci/devices/*; do
  [ -r "$fn/class" ] || continue
  t "$fn/class"
  cls=
  read -r cls < "$fn/class" 2>/dev/null
  case $cls in
    0x03* | 0x12*)
      t "$fn/vendor" "$fn/device" "$fn/uevent"
      gpu=1
      ;;
  esac
done
if [ -n "$gpu" ]; then
  for i in /usr/share/misc/pci.ids /usr/share/hwdata/pci.ids /usr/share/pci.ids; do
    if [ -r "$i" ]; then
      f "$i"
      break
    fi
  done
  if [ -e /proc/driver/nvidia/version ] && command -v nvidia-smi >/dev/null 2>&1; then
    c nvidia-smi-q-x to nvidia-smi -q -x
  fi
fi

# The BMC, only where an IPMI device node exists and ipmitool is installed.
if [ -e /dev/ipmi0 ] || [ -e /dev/ipmi/0 ] || [ -e /dev/ipmidev/0 ]; then
  if command -v ipmitool >/dev/null 2>&1; then
    # Channel 1 is the LAN channel of most BMCs; HP iLO answers on channel 2.
    # (As the live source does: channel 1's answer stands when channel 2 fails too.)
    lan1=
    to ipmitool lan print 1 > "$T" 2>/dev/null && lan1=1
    if [ -n "$lan1" ] && grep -E '^(IP|MAC) Address +: ' "$T" | grep -Evq ': *(0\.0\.0\.0|00:00:00:00:00:00)? *$'; then
      emit C ipmitool-lan-print
    elif ! c ipmitool-lan-print to ipmitool lan print 2 && [ -n "$lan1" ]; then
      c ipmitool-lan-print to ipmitool lan print 1
    fi
    c ipmitool-fru-print to ipmitool fru print
    c ipmitool-mc-info to ipmitool mc info
  fi
fi

# Installed packages, cut down to what the packages plugin reads so that a sweep never ships a
# 100 MB database: dpkg's status and journal and apk's database keep the plugin's fields and the
# blank lines between stanzas (the same parser reads them); rpm reads its own database, in the
# plugin's fixed format (commands/rpm-qa). What cannot be captured goes into
# commands/packages.error, so the plugin fails rather than report fewer packages.
pe=
# keep PATH ERE: the lines of PATH matching ERE, as PATH's F record.
keep() {
  [ -e "$1" ] || return 0
  grep -E "$2" "$1" > "$T" 2>/dev/null
  case $? in
    0 | 1) emit F "$1" ;;
    *) pe="$pe$1: cannot be read
" ;;
  esac
}
keep /var/lib/dpkg/status '^(Package|Status|Version|Architecture|Source):|^$'
for u in /var/lib/dpkg/updates/*; do
  case ${u##*/} in
    *[!0-9]* | '') ;;
    *) keep "$u" '^(Package|Status|Version|Architecture|Source):|^$' ;;
  esac
done
keep /lib/apk/db/installed '^[PVAo]:|^$'
keep /usr/lib/apk/db/installed '^[PVAo]:|^$'
rdb=
for d in /var/lib/rpm /usr/lib/sysimage/rpm; do
  for x in rpmdb.sqlite Packages.db Packages; do
    [ -e "$d/$x" ] && rdb=$d && break 2
  done
done
if [ -n "$rdb" ]; then
  if command -v rpm >/dev/null 2>&1; then
    # --dbpath: the database found here, whatever rpm's default (Debian's rpm reads ~/.rpmdb).
    if to rpm --dbpath "$rdb" -qa --qf '%{NAME}\t%|EPOCH?{%{EPOCH}}:{}|\t%{VERSION}\t%{RELEASE}\t%|ARCH?{%{ARCH}}:{}|\t%|SOURCERPM?{%{SOURCERPM}}:{}|\t%|VENDOR?{%{VENDOR}}:{}|\t%|INSTALLTIME?{%{INSTALLTIME}}:{}|\n' > "$T" 2> "$E"; then
      emit C rpm-qa
    else
      rc=$?
      msg=$(head -n 1 "$E" 2>/dev/null)
      pe="${pe}rpm -qa: exit status $rc${msg:+: $msg}
"
    fi
  else
    # No rpm to ask (a minimal image): the database files themselves, up to 32 MiB each.
    for x in rpmdb.sqlite rpmdb.sqlite-wal rpmdb.sqlite-journal Packages.db Packages; do
      [ -e "$rdb/$x" ] || continue
      n=$(wc -c < "$rdb/$x" 2>/dev/null) || n=
      if [ -n "$n" ] && [ "$n" -le 33554432 ]; then
        f "$rdb/$x"
      else
        pe="$pe$rdb/$x: ${n:-?} bytes, too large to copy, and no rpm to read it
"
      fi
    done
  fi
fi
if [ -n "$pe" ]; then
  printf '%s' "$pe" > "$T"
  emit C packages.error
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
