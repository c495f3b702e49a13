#!/usr/bin/env bash
# lab/lab.sh - the lab of real target hosts for the timesync audit suite.
#
#   lab/lab.sh start    build images (cached, shared by every instance), start this instance's
#                       hosts, write its ssh_config/known_hosts/inventories into its run dir
#   lab/lab.sh stop     remove this instance's containers, network, firewall chain and run dir;
#                       stop the dockerd a lab instance started, restore the inotify sysctl, but
#                       only when no other container remains (see "Host-side changes" in README)
#   lab/lab.sh status   print this instance's hosts, container names, addresses and state
#   lab/lab.sh env      print this instance's names and paths as shell assignments
#   lab/lab.sh list     print the lab instances on the docker engine and in this clone
#   lab/lab.sh build    start dockerd if needed and build the images only
#   lab/lab.sh clean    stop this instance, then remove the lab images if no instance uses them
#
# Environment:
#   TSA_LAB_ID       the instance's run id, 1-8 of [a-z0-9] (default: derived from the clone's path)
#   TSA_LAB_HOSTS    start only these hosts, e.g. "nts-server chrony-stock" (default: all)
#   TSA_LAB_PREFIX   first three octets of the instance's /24 (default: the first free one of
#                    172.29.73-254.0/24, 172.29.0-72.0/24; remembered in the run dir)
#   DOCKER           docker client (default /usr/bin/docker, Debian's, matching Debian's dockerd)
#
# See lab/README.md.
set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$LAB_DIR/.." && pwd)"
IMG_DIR="$LAB_DIR/images"
# shellcheck source=lab/instance.sh
source "$LAB_DIR/instance.sh"
lab_instance || exit 2         # LAB_ID RUN_DIR NET BRIDGE FW_CHAIN LABEL_KEY LABEL CONTAINER_PREFIX

# Machine-wide, shared by every instance (tmpfs: gone at reboot, like dockerd and sysctls):
# the locks, and what a lab instance changed on the host beyond its own objects (the dockerd
# it started, the values to restore).
SHARED_DIR="/run/tsa-lab"
PREFIX=""                      # the instance's /24 (its first three octets), see choose_prefix
PREFIX_RANGE_B="172.29"        # candidates: $PREFIX_RANGE_B.73-254, then .0-72
ROOTFS_IMAGE="tsa-lab-rootfs:bookworm"
INOTIFY_WANT=1024
if [[ -z "${DOCKER:-}" ]]; then
    if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
export DOCKER_BUILDKIT=0       # legacy builder: no buildx needed, works offline

# Image build order: directory under lab/images/ -> image tsa-lab-<dir>:latest.
# Each Dockerfile's FROM must be built earlier in this list (or be the rootfs).
IMAGES=(base chrony nts-server chrony-hardened chrony-stock chrony-weak
        chrony-nts-untrusted chrony-mixed chrony-unreachable chrony-refused
        chrony-unreadable-sources chrony-next-start chrony-rival ntpsec timesyncd)


# Hosts: name  last-octet  image-dir  daemon-unit  inventory-groups
HOSTS=(
    "nts-server                 10 nts-server                chrony               chrony,lab_infra"
    "nts-server2                11 nts-server                chrony               chrony,lab_infra"
    "chrony-hardened            21 chrony-hardened           chrony               chrony,lab_targets"
    "chrony-stock               22 chrony-stock              chrony               chrony,lab_targets"
    "chrony-weak                23 chrony-weak               chrony               chrony,lab_targets"
    "chrony-nts-untrusted       24 chrony-nts-untrusted      chrony               chrony,lab_targets"
    "chrony-mixed               25 chrony-mixed              chrony               chrony,lab_targets"
    "chrony-unreachable         26 chrony-unreachable        chrony               chrony,lab_targets"
    "chrony-refused             27 chrony-refused            chrony               chrony,lab_targets"
    "chrony-unreadable-sources  28 chrony-unreadable-sources chrony               chrony,lab_targets"
    "chrony-next-start          29 chrony-next-start         chrony               chrony,lab_targets"
    "chrony-rival               30 chrony-rival              chrony               chrony,lab_targets"
    "ntpsec                     31 ntpsec                    ntpsec               ntpsec,lab_targets"
    "timesyncd                  41 timesyncd                 systemd-timesyncd    timesyncd,lab_targets"
)

log() { printf '[lab %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
dk() { "$DOCKER" "$@"; }

host_field() { # host_field NAME INDEX  (any host of the table)
    local h
    for h in "${HOSTS[@]}"; do
        read -r -a f <<<"$h"
        if [[ "${f[0]}" == "$1" ]]; then echo "${f[$2]}"; return 0; fi
    done
    return 1
}
all_host_names() { local h; for h in "${HOSTS[@]}"; do read -r -a f <<<"$h"; echo "${f[0]}"; done; }

# The instance's hosts, in table order: $RUN_DIR/hosts once start has run (the union of every
# start's TSA_LAB_HOSTS), all hosts before that. start sets SELECTED itself (select_hosts).
SELECTED=""
load_selected() {
    if [[ -z "$SELECTED" && -r "$RUN_DIR/hosts" ]]; then SELECTED=" $(tr '\n' ' ' <"$RUN_DIR/hosts") "; fi
    if [[ -z "${SELECTED// /}" ]]; then SELECTED=" $(all_host_names | tr '\n' ' ') "; fi
}
host_names() { load_selected; local n; for n in $(all_host_names); do [[ "$SELECTED" != *" $n "* ]] || echo "$n"; done; }
select_hosts() { # start: validate TSA_LAB_HOSTS, add the hosts this instance already has
    local want n all
    all=" $(all_host_names | tr '\n' ' ') "
    want="${TSA_LAB_HOSTS:-$all}"
    want="${want//,/ }"
    for n in $want; do
        [[ "$all" == *" $n "* ]] || die "TSA_LAB_HOSTS: unknown host '$n' (known: $(echo $all))"
    done
    [[ -n "${want// /}" ]] || die "TSA_LAB_HOSTS names no host"
    SELECTED=" $want "
    if [[ -r "$RUN_DIR/hosts" ]]; then SELECTED+="$(tr '\n' ' ' <"$RUN_DIR/hosts") "; fi
    SELECTED=" $(host_names | tr '\n' ' ') "
}
host_ip() { echo "$PREFIX.$(host_field "$1" 1)"; }
set_prefix() { # set_prefix A.B.C
    PREFIX="$1"; SUBNET="$PREFIX.0/24"; GATEWAY="$PREFIX.1"
    VOID_IP="$PREFIX.250"      # nothing ever listens here (chrony-unreachable's server)
}
load_prefix() { if [[ -z "$PREFIX" && -s "$RUN_DIR/prefix" ]]; then set_prefix "$(cat "$RUN_DIR/prefix")"; fi; }

# ---------------------------------------------------------------- locks (machine-wide)
# fd 7: build.lock (image builds), fd 8: engine.lock (held shared by every start while it
# runs; stop takes it exclusively to decide about dockerd and the sysctl), fd 9: host.lock
# (starting dockerd, the sysctl, choosing a subnet and creating the network).
# Long-lived children (dockerd) must not inherit them: see start_dockerd.
lock() { # lock FD NAME [flock options]
    local fd="$1" name="$2"; shift 2
    mkdir -p "$SHARED_DIR"; chmod 755 "$SHARED_DIR"
    eval "exec $fd>>\"\$SHARED_DIR/\$name.lock\""
    flock "$@" -w 900 "$fd" || die "waited 900 s for $SHARED_DIR/$name.lock"
}
unlock() { eval "exec $1>&-"; }

# ---------------------------------------------------------------- dockerd
docker_up() { dk info >/dev/null 2>&1; }

dockerd_pid() { # pid of the dockerd a lab instance started, if it is alive
    local pidf="$SHARED_DIR/dockerd.pid" pid
    [[ -s "$pidf" ]] || return 1
    pid="$(cat "$pidf")"
    [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" == dockerd ]] || return 1
    echo "$pid"
}

start_dockerd() {
    if docker_up; then return 0; fi
    command -v dockerd >/dev/null || die "dockerd missing: apt-get install -y docker.io debootstrap"
    lock 9 host
    if docker_up; then unlock 9; return 0; fi   # another instance started it meanwhile
    if dockerd_pid >/dev/null; then
        log "dockerd (pid $(dockerd_pid)) started earlier is still coming up"
    else
        log "starting dockerd in the background"
        # dockerd sets the FORWARD policy to DROP and enables ip_forward: put both back when it stops
        [[ -e "$SHARED_DIR/forward-policy.orig" ]] ||
            iptables -S FORWARD 2>/dev/null | awk '$1=="-P"{print $3; exit}' >"$SHARED_DIR/forward-policy.orig" || true
        [[ -e "$SHARED_DIR/ip_forward.orig" ]] || sysctl -n net.ipv4.ip_forward >"$SHARED_DIR/ip_forward.orig"
        # dockerd creates its default bridge docker0 and leaves it behind
        [[ -e "$SHARED_DIR/docker0.created" ]] || ip link show docker0 >/dev/null 2>&1 || touch "$SHARED_DIR/docker0.created"
        echo "$LAB_ID" >"$SHARED_DIR/dockerd.owner"
        # own session (survives this script and its caller's process group), stdio detached, no
        # lock fd inherited; dockerd writes its PID to $SHARED_DIR/dockerd.pid: stop kills exactly that
        rm -f "$SHARED_DIR/dockerd.pid"
        (setsid dockerd --pidfile "$SHARED_DIR/dockerd.pid" >>"$SHARED_DIR/dockerd.log" 2>&1 </dev/null 7>&- 8>&- 9>&- &)
    fi
    local i
    for i in $(seq 1 60); do
        if docker_up && dockerd_pid >/dev/null; then log "dockerd up (pid $(dockerd_pid))"; unlock 9; return 0; fi
        sleep 0.5
    done
    tail -20 "$SHARED_DIR/dockerd.log" >&2
    die "dockerd did not answer within 30 s (see $SHARED_DIR/dockerd.log)"
}

restore_dockerd_changes() { # what dockerd changed on the host, back to the values from before it
    if [[ -s "$SHARED_DIR/forward-policy.orig" ]]; then
        iptables -w -P FORWARD "$(cat "$SHARED_DIR/forward-policy.orig")" || true
    fi
    rm -f "$SHARED_DIR/forward-policy.orig"
    if [[ -e "$SHARED_DIR/docker0.created" ]]; then
        ip link delete docker0 2>/dev/null || true
        rm -f "$SHARED_DIR/docker0.created"
    fi
    if [[ -s "$SHARED_DIR/ip_forward.orig" ]]; then
        sysctl -q -w net.ipv4.ip_forward="$(cat "$SHARED_DIR/ip_forward.orig")" || true
    fi
    rm -f "$SHARED_DIR/ip_forward.orig" "$SHARED_DIR/dockerd.owner"
}

stop_dockerd() {
    local pid i
    if pid="$(dockerd_pid)"; then
        log "stopping the dockerd lab instance $(cat "$SHARED_DIR/dockerd.owner" 2>/dev/null) started (pid $pid)"
        kill -TERM "$pid"
        for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then log "dockerd $pid still alive after 30 s; sending KILL"; kill -KILL "$pid"; fi
    fi
    rm -f "$SHARED_DIR/dockerd.pid"
    if [[ -s "$SHARED_DIR/dockerd.log" ]]; then cp "$SHARED_DIR/dockerd.log" /tmp/tsa-lab-dockerd.last.log; fi
    rm -f "$SHARED_DIR/dockerd.log"
    restore_dockerd_changes
}

# After an instance removed its own objects: the dockerd a lab instance started is stopped (and
# its host changes undone) only if this instance started it, or the instance that started it
# has stopped since and left it running, AND no container at all remains on the engine
# (another instance's, or anybody else's). The inotify sysctl is restored when no lab
# container remains. Otherwise both stay, and the instance leaving says why.
release_host_state() {
    lock 8 engine -x           # no start of any instance is under way meanwhile
    local up=0 others="" lab_others="" owner pid
    if docker_up; then
        up=1
        others="$(dk ps -aq)"
        lab_others="$(dk ps -aq --filter "label=$LABEL_KEY")"
    fi
    owner="$(cat "$SHARED_DIR/dockerd.owner" 2>/dev/null || true)"
    if pid="$(dockerd_pid)"; then
        if [[ "$owner" == "$LAB_ID" || "$owner" == - ]]; then
            if ((up)) && [[ -z "$others" ]]; then
                stop_dockerd
            elif ((up)); then
                if [[ "$owner" == "$LAB_ID" ]]; then
                    echo - >"$SHARED_DIR/dockerd.owner"   # the next lab stop that finds the engine empty stops it
                fi
                log "leaving dockerd (pid $pid) running: $(wc -w <<<"$others") container(s) remain on it" \
                    "($(dk inspect -f '{{.Name}}' $others | tr -d / | head -5 | tr '\n' ' ' | sed 's/ $//'))"
            else
                log "WARNING: dockerd (pid $pid) does not answer; left running (kill $pid to stop it)"
            fi
        fi
    elif [[ -n "$owner" ]] && ! ((up)); then
        log "the dockerd a lab instance started is gone; restoring what it changed"
        restore_dockerd_changes
        rm -f "$SHARED_DIR/dockerd.pid"
    fi
    if [[ -z "$lab_others" ]]; then
        restore_inotify
    elif [[ -s "$SHARED_DIR/inotify.max_user_instances.orig" ]]; then
        log "leaving fs.inotify.max_user_instances raised: $(wc -w <<<"$lab_others") lab container(s) of other instances remain"
    fi
    unlock 8
}

# ---------------------------------------------------------------- images
debian_mirror() {
    local m=""
    if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
        m="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
    fi
    if [[ -z "$m" && -r /etc/apt/sources.list ]]; then
        m="$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list)"
    fi
    [[ -n "$m" ]] || die "cannot find the Debian mirror in /etc/apt/sources.list(.d)"
    echo "$m"
}

build_rootfs() {
    if dk image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1; then return 0; fi
    command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install -y debootstrap"
    local dir mirror
    mirror="$(debian_mirror)"
    dir="$(mktemp -d /var/tmp/tsa-lab-rootfs.XXXXXX)"
    log "debootstrap --variant=minbase bookworm (takes ~1 min)"
    if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
        tail -20 "$dir.log" >&2; rm -rf "$dir"; die "debootstrap failed (log: $dir.log)"
    fi
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*_Packages
    log "docker import -> $ROOTFS_IMAGE"
    tar -C "$dir" --numeric-owner -c . | dk import -c 'CMD ["/bin/bash"]' - "$ROOTFS_IMAGE" >/dev/null
    rm -rf "$dir" "$dir.log"
}

# content hash of an image dir + its parent's hash: lets "start" skip docker build entirely
image_hash() {
    local d="$IMG_DIR/$1" parent
    parent="$(awk 'toupper($1)=="FROM" {print $2; exit}' "$d/Dockerfile")"
    {
        echo "parent=$parent"
        if [[ "$parent" == "$ROOTFS_IMAGE" ]]; then
            dk image inspect -f '{{.Id}}' "$ROOTFS_IMAGE"
        elif [[ "$parent" == tsa-lab-* ]]; then
            image_hash "$(sed -E 's/^tsa-lab-//; s/:.*$//' <<<"$parent")"
        fi
        (cd "$d" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        (cd "$d" && find . -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %a')
    } | sha256sum | cut -c1-16
}

# Images are shared by every instance (same tags). Two instances building at once take turns
# (build.lock); the second finds the hashes it wants and builds nothing.
build_images() {
    lock 7 build
    build_rootfs
    local name tag want have
    for name in "${IMAGES[@]}"; do
        tag="tsa-lab-$name:latest"
        want="$(image_hash "$name")"
        have="$(dk image inspect -f '{{index .Config.Labels "tsa-lab.hash"}}' "$tag" 2>/dev/null || true)"
        if [[ "$want" == "$have" ]]; then continue; fi
        log "building $tag"
        if ! dk build -q --label "tsa-lab.hash=$want" -t "$tag" "$IMG_DIR/$name" >"$SHARED_DIR/build-$name.log" 2>&1; then
            dk build --label "tsa-lab.hash=$want" -t "$tag" "$IMG_DIR/$name" 2>&1 | tail -30 >&2
            die "docker build $tag failed"
        fi
        rm -f "$SHARED_DIR/build-$name.log"
    done
    unlock 7
}

# ---------------------------------------------------------------- sysctl
raise_inotify() { # under host.lock; the value from before is kept for the last instance's stop
    local cur
    cur="$(sysctl -n fs.inotify.max_user_instances)"
    if (( cur < INOTIFY_WANT )); then
        [[ -e "$SHARED_DIR/inotify.max_user_instances.orig" ]] || echo "$cur" >"$SHARED_DIR/inotify.max_user_instances.orig"
        log "fs.inotify.max_user_instances $cur -> $INOTIFY_WANT (restored by the stop of the last lab instance)"
        sysctl -q -w fs.inotify.max_user_instances="$INOTIFY_WANT"
    fi
}

restore_inotify() {
    local f="$SHARED_DIR/inotify.max_user_instances.orig"
    [[ -s "$f" ]] || return 0
    log "restoring fs.inotify.max_user_instances=$(cat "$f")"
    sysctl -q -w fs.inotify.max_user_instances="$(cat "$f")"
    rm -f "$f"
}

# ---------------------------------------------------------------- network
ip2int() { local IFS=.; read -r a b c d <<<"$1"; echo $(( (a << 24) | (b << 16) | (c << 8) | d )); }
overlaps() { # overlaps A.B.C.D/LEN A.B.C.D/LEN
    local al="${1#*/}" bl="${2#*/}" m mask
    m=$(( al < bl ? al : bl ))
    mask=$(( m == 0 ? 0 : (0xffffffff << (32 - m)) & 0xffffffff ))
    (( ($(ip2int "${1%/*}") & mask) == ($(ip2int "${2%/*}") & mask) ))
}
taken_subnets() { # every IPv4 destination routed on this machine (all tables), every docker network's subnet
    ip -4 route show table all | awk '
        { d = $1 }
        d ~ /^(local|broadcast|anycast|multicast|unicast|unreachable|blackhole|prohibit|throw|nat)$/ { d = $2 }
        d == "default" || d !~ /^[0-9.\/]+$/ { next }
        { if (d !~ /\//) d = d "/32"; print d }'
    dk network ls -q | xargs -r "$DOCKER" network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{"\n"}}{{end}}' |
        grep -E '^[0-9.]+/[0-9]+$' || true
}
subnet_user() { # subnet_user A.B.C: what already uses A.B.C.0/24 (nothing: status 1)
    local t
    for t in "${TAKEN[@]}"; do
        if overlaps "$1.0/24" "$t"; then echo "$t"; return 0; fi
    done
    return 1
}

# The instance's /24: TSA_LAB_PREFIX if given, else the one it had (run dir), else the first of
# 172.29.73-254, 172.29.0-72 that no route and no docker network uses. Under host.lock, so two
# instances starting at once never pick the same one.
choose_prefix() {
    local p c used
    mapfile -t TAKEN < <(taken_subnets)
    if [[ -n "${TSA_LAB_PREFIX:-}" ]]; then
        p="$TSA_LAB_PREFIX"
        [[ "$p" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] && ((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 255)) ||
            die "TSA_LAB_PREFIX='$p': expected three octets, e.g. 172.29.73"
        if used="$(subnet_user "$p")"; then die "subnet $p.0/24 is taken on this machine ($used is routed or a docker network); set another TSA_LAB_PREFIX"; fi
        set_prefix "$p"; return 0
    fi
    if [[ -s "$RUN_DIR/prefix" ]] && ! subnet_user "$(cat "$RUN_DIR/prefix")" >/dev/null; then
        set_prefix "$(cat "$RUN_DIR/prefix")"; return 0
    fi
    for c in $(seq 73 254) $(seq 0 72); do
        if ! subnet_user "$PREFIX_RANGE_B.$c" >/dev/null; then set_prefix "$PREFIX_RANGE_B.$c"; return 0; fi
    done
    die "no free /24 in $PREFIX_RANGE_B.0.0/16; set TSA_LAB_PREFIX"
}

create_network() {
    lock 9 host
    if dk network inspect "$NET" >/dev/null 2>&1; then
        [[ "$(dk network inspect -f '{{.Internal}}' "$NET")" == true ]] || die "network $NET exists and is not --internal"
        [[ "$(dk network inspect -f '{{index .Labels "'"$LABEL_KEY"'"}}' "$NET")" == "$LAB_ID" ]] ||
            die "network $NET exists but is not labelled $LABEL"
        local have
        have="$(dk network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$NET")"
        [[ -z "${TSA_LAB_PREFIX:-}" || "$have" == "$TSA_LAB_PREFIX.0/24" ]] ||
            die "instance $LAB_ID runs on $have, not TSA_LAB_PREFIX=$TSA_LAB_PREFIX: stop it first"
        set_prefix "${have%.0/24}"
    else
        choose_prefix
        log "docker network create --internal $NET ($SUBNET, bridge $BRIDGE)"
        dk network create --internal --driver bridge --subnet "$SUBNET" --gateway "$GATEWAY" \
            -o "com.docker.network.bridge.name=$BRIDGE" --label "$LABEL" "$NET" >/dev/null
    fi
    echo "$PREFIX" >"$RUN_DIR/prefix"
    unlock 9
}

# --internal already stops forwarding from the lab to anywhere else (docker's
# DOCKER-ISOLATION rules). This also stops targets from opening anything on the host
# itself: from the instance's bridge, the host accepts only replies to connections it
# opened (the suite's SSH sessions).
firewall_up() {
    local ipt
    for ipt in iptables ip6tables; do
        command -v "$ipt" >/dev/null || continue
        "$ipt" -w -N "$FW_CHAIN" 2>/dev/null || "$ipt" -w -F "$FW_CHAIN"
        "$ipt" -w -A "$FW_CHAIN" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
        "$ipt" -w -A "$FW_CHAIN" -j DROP
        "$ipt" -w -C INPUT -i "$BRIDGE" -j "$FW_CHAIN" 2>/dev/null || "$ipt" -w -I INPUT 1 -i "$BRIDGE" -j "$FW_CHAIN"
    done
}

firewall_down() {
    local ipt
    for ipt in iptables ip6tables; do
        command -v "$ipt" >/dev/null || continue
        while "$ipt" -w -D INPUT -i "$BRIDGE" -j "$FW_CHAIN" 2>/dev/null; do :; done
        "$ipt" -w -F "$FW_CHAIN" 2>/dev/null || true
        "$ipt" -w -X "$FW_CHAIN" 2>/dev/null || true
    done
}

# ---------------------------------------------------------------- per-run secrets
gen_secrets() {
    mkdir -p "$RUN_DIR"
    chmod 700 "$RUN_DIR"
    if [[ ! -s "$RUN_DIR/id_ed25519" ]]; then
        log "generating the lab SSH key"
        ssh-keygen -q -t ed25519 -N '' -C "tsa-lab-$LAB_ID" -f "$RUN_DIR/id_ed25519"
    fi
    local n
    mkdir -p "$RUN_DIR/hostkeys"
    for n in $(host_names); do
        [[ -s "$RUN_DIR/hostkeys/$n" ]] || ssh-keygen -q -t ed25519 -N '' -C "root@$n" -f "$RUN_DIR/hostkeys/$n"
    done
    mkdir -p "$RUN_DIR/nts"
    # the certificate names the servers' addresses: a new one when the instance's subnet changed
    if [[ ! -s "$RUN_DIR/nts/nts.crt" || "$(cat "$RUN_DIR/nts/prefix" 2>/dev/null)" != "$PREFIX" ]]; then
        log "generating the NTS server certificate (self-signed EC P-256)"
        local san="DNS:nts-server,DNS:nts-server2,IP:$(host_ip nts-server),IP:$(host_ip nts-server2)"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
            -subj "/CN=nts-server" -addext "subjectAltName=$san" \
            -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth" \
            -keyout "$RUN_DIR/nts/nts.key" -out "$RUN_DIR/nts/nts.crt" 2>/dev/null
        # a second, unrelated certificate with the same names: chrony-nts-untrusted trusts only this one
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
            -subj "/CN=nts-server" -addext "subjectAltName=$san" \
            -keyout "$RUN_DIR/nts/rogue.key" -out "$RUN_DIR/nts/rogue.crt" 2>/dev/null
        rm -f "$RUN_DIR/nts/rogue.key"
        echo "$PREFIX" >"$RUN_DIR/nts/prefix"
    fi
}

# ---------------------------------------------------------------- containers
# Files that go into a container before it starts. Stages them under
# $RUN_DIR/stage/<name>/ with numeric owners and modes, then streams a tar of
# the FILES only (no directory entries, so existing directories keep their
# owner/mode) into the container: `docker cp -a - NAME:/`.
stage_put() { # stage_put NAME SRC DEST OWNER:GROUP MODE
    local st="$RUN_DIR/stage/$1"
    mkdir -p "$st$(dirname "$3")"
    cp "$2" "$st$3"
    chown "$4" "$st$3"
    chmod "$5" "$st$3"
}

chrony_gid() { # numeric gid of _chrony in the lab's chrony image (fixed at build time)
    echo 990
}

stage_host() {
    local n="$1" img="$2" st="$RUN_DIR/stage/$1"
    rm -rf "$st"
    stage_put "$n" "$RUN_DIR/hostkeys/$n" /etc/ssh/ssh_host_ed25519_key 0:0 0600
    stage_put "$n" "$RUN_DIR/hostkeys/$n.pub" /etc/ssh/ssh_host_ed25519_key.pub 0:0 0644
    stage_put "$n" "$RUN_DIR/id_ed25519.pub" /root/.ssh/authorized_keys 0:0 0600
    case "$img" in
        nts-server)
            stage_put "$n" "$RUN_DIR/nts/nts.key" /etc/chrony/lab/nts.key "0:$(chrony_gid)" 0640
            stage_put "$n" "$RUN_DIR/nts/nts.crt" /etc/chrony/lab/nts.crt 0:0 0644
            printf '# generated by lab/lab.sh: serve NTP/NTS to the lab network only\nallow %s\n' "$SUBNET" \
                >"$RUN_DIR/allow.conf"
            stage_put "$n" "$RUN_DIR/allow.conf" /etc/chrony/conf.d/50-lab-allow.conf 0:0 0644
            ;;
        chrony-hardened|chrony-mixed|chrony-refused|chrony-unreadable-sources|chrony-next-start|chrony-rival)
            stage_put "$n" "$RUN_DIR/nts/nts.crt" /etc/chrony/lab/nts-ca.crt 0:0 0644
            ;;
        chrony-nts-untrusted)
            stage_put "$n" "$RUN_DIR/nts/rogue.crt" /etc/chrony/lab/nts-ca.crt 0:0 0644
            ;;
    esac
    (cd "$st" && find . -type f | LC_ALL=C sort) >"$st.list"
    tar -C "$st" --numeric-owner --no-recursion -cf - -T "$st.list" | dk cp -a - "$(cname "$n"):/"
}

create_host() {
    local n="$1" octet img args=()
    octet="$(host_field "$n" 1)"; img="$(host_field "$n" 2)"
    case "$n" in
        nts-server|nts-server2) ;;
        chrony-unreachable) args+=(--add-host "time-void:$VOID_IP") ;;
    esac
    # the container's name is the instance's; its hostname and its name on the instance's
    # network (docker's DNS: how targets find nts-server) are the bare host name
    dk create --name "$(cname "$n")" --hostname "$n" --label "$LABEL" --label "$LABEL_KEY.host=$n" \
        --network "$NET" --network-alias "$n" --ip "$PREFIX.$octet" \
        --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
        --stop-timeout 5 "${args[@]}" "tsa-lab-$img:latest" >/dev/null
    stage_host "$n" "$img"
}

start_one() { # (re)create and start host $1 unless it already runs the current image
    local n="$1" c img state
    c="$(cname "$n")"
    img="tsa-lab-$(host_field "$n" 2):latest"
    state="$(dk inspect -f '{{.State.Status}}' "$c" 2>/dev/null)" || state=absent
    if [[ "$state" == running ]] &&
       [[ "$(dk inspect -f '{{.Image}}' "$c")" == "$(dk image inspect -f '{{.Id}}' "$img")" ]]; then
        return 0
    fi
    [[ "$state" == absent ]] || dk rm -f "$c" >/dev/null
    create_host "$n"
    dk start "$c" >/dev/null
}

start_hosts() { # start_hosts NAME...  (in parallel)
    local n pids=() names=() i rc=0
    for n in "$@"; do
        start_one "$n" >"$RUN_DIR/start-$n.log" 2>&1 &
        pids+=($!); names+=("$n")
    done
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}"; then
            log "starting ${names[$i]} failed:"; cat "$RUN_DIR/start-${names[$i]}.log" >&2; rc=1
        fi
        rm -f "$RUN_DIR/start-${names[$i]}.log"
    done
    ((rc == 0)) || die "some hosts did not start (run lab/lab.sh stop to clean up)"
}

ssh_check() { # the host answers on SSH with the lab key and the recorded host key
    local n="$1" i
    for i in $(seq 1 20); do
        if ssh -F "$RUN_DIR/ssh_config" -o ControlPath=none "$n" true </dev/null 2>"$RUN_DIR/ssh-$n.err"; then
            rm -f "$RUN_DIR/ssh-$n.err"; return 0
        fi
        sleep 0.5
    done
    return 1
}

# Hosts whose designed state is more than "the time daemon's unit is active":
# chrony-refused's chronyd refuses its configuration (the unit ends failed); on
# chrony-next-start the post-start edit has run; on chrony-rival the stray timesyncd runs.
declare -A READY_CHECK=(
    [chrony-refused]="systemctl is-failed -q chrony.service"
    [chrony-next-start]="systemctl is-active -q chrony.service && systemctl is-active -q site-config.service"
    [chrony-rival]="systemctl is-active -q chrony.service && systemctl is-active -q timesync-fallback.service"
)

host_ready() { # sshd and the time daemon are active (servers: NTS-KE port listening too)
    local n="$1" unit check
    unit="$(host_field "$n" 3)"
    check="systemctl is-active -q ssh.service && ${READY_CHECK[$n]:-systemctl is-active -q $unit.service}"
    [[ "$(host_field "$n" 2)" != nts-server ]] || check="$check && ss -Hltn 'sport = :4460' | grep -q ."
    dk exec "$(cname "$n")" sh -c "$check" 2>/dev/null
}

wait_hosts() { # wait_hosts NAME...
    local deadline=$((SECONDS + 90)) n pending=("$@") still
    while ((${#pending[@]})); do
        still=()
        for n in "${pending[@]}"; do
            host_ready "$n" || still+=("$n")
        done
        pending=("${still[@]}")
        ((${#pending[@]} == 0)) && break
        if ((SECONDS > deadline)); then
            for n in "${pending[@]}"; do
                log "$n: ssh=$(dk exec "$(cname "$n")" systemctl is-active ssh.service 2>&1) $(host_field "$n" 3)=$(dk exec "$(cname "$n")" systemctl is-active "$(host_field "$n" 3).service" 2>&1)"
            done
            die "hosts not ready after 90 s: ${pending[*]}"
        fi
        sleep 0.5
    done
}

ssh_check_all() {
    local n pids=() names=() i rc=0
    for n in $(host_names); do
        ssh_check "$n" & pids+=($!); names+=("$n")
    done
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}"; then
            log "ssh to ${names[$i]} failed:"; cat "$RUN_DIR/ssh-${names[$i]}.err" >&2; rc=1
        fi
    done
    ((rc == 0)) || die "SSH check failed"
}

# ---------------------------------------------------------------- client-side files
write_client_files() {
    local n names
    names="$(host_names | tr '\n' ' ')"
    : >"$RUN_DIR/known_hosts.tmp"
    for n in $(host_names); do
        printf '%s,%s %s\n' "$n" "$(host_ip "$n")" "$(cut -d' ' -f1,2 "$RUN_DIR/hostkeys/$n.pub")" >>"$RUN_DIR/known_hosts.tmp"
    done
    mv "$RUN_DIR/known_hosts.tmp" "$RUN_DIR/known_hosts"

    {
        echo "# generated by lab/lab.sh start for lab instance $LAB_ID; removed by lab/lab.sh stop"
        echo "# usage: ssh -F $RUN_DIR/ssh_config $(host_names | head -1)"
        for n in $(host_names); do
            printf 'Host %s\n    HostName %s\n\n' "$n" "$(host_ip "$n")"
        done
        printf 'Host %s\n' "$names"
        cat <<EOF
    User root
    Port 22
    IdentityFile $RUN_DIR/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $RUN_DIR/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    CheckHostIP yes
    BatchMode yes
    PasswordAuthentication no
    ConnectTimeout 5
    LogLevel ERROR
    ControlMaster auto
    ControlPath $RUN_DIR/cm-%C
    ControlPersist 60s
EOF
    } >"$RUN_DIR/ssh_config"

    # inventory with addresses and absolute paths (the instance's lab.yml below uses host names
    # resolved through its ssh_config instead)
    {
        echo "# generated by lab/lab.sh start for lab instance $LAB_ID (addresses + absolute paths); removed by stop"
        echo "all:"
        echo "  vars:"
        echo "    ansible_user: root"
        echo "    ansible_ssh_private_key_file: $RUN_DIR/id_ed25519"
        echo "    ansible_ssh_common_args: -o UserKnownHostsFile=$RUN_DIR/known_hosts -o StrictHostKeyChecking=yes"
        echo "    timesync_audit_approved_servers: [nts-server, nts-server2]"
        echo "  hosts:"
        for n in $(host_names); do
            echo "    $n:"
            echo "      ansible_host: $(host_ip "$n")"
        done
        echo "  children:"
        local g
        local g members
        for g in chrony ntpsec timesyncd lab_infra lab_targets; do
            echo "    $g:"
            members=""
            for n in $(host_names); do
                if [[ ",$(host_field "$n" 4)," == *",$g,"* ]]; then members+="        $n: {}"$'\n'; fi
            done
            if [[ -n "$members" ]]; then printf '      hosts:\n%s' "$members"; else echo "      hosts: {}"; fi
        done
    } >"$RUN_DIR/inventory.yml"

    # the committed inventories, for this instance: only its hosts, its run dir's paths
    # (lab.yml), the container names (lab-docker.yml)
    instance_inventory "$REPO_DIR/inventories/lab.yml" ssh >"$RUN_DIR/lab.yml"
    instance_inventory "$REPO_DIR/inventories/lab-docker.yml" docker >"$RUN_DIR/lab-docker.yml"
}

# instance_inventory TEMPLATE ssh|docker: the committed inventory (its layout: hosts at
# `  hosts:` / 4 spaces, groups at `  children:` / 4 spaces with `      hosts:` / 8 spaces) with
# the hosts this instance does not run left out, `lab/.run/<id>/` replaced by the run dir
# and, for docker, `ansible_host: <container name>` added to each host.
instance_inventory() {
    awk -v mode="$2" -v rundir="$RUN_DIR/" -v cprefix="$CONTAINER_PREFIX" -v id="$LAB_ID" \
        -v src="${1#"$REPO_DIR"/}" -v hosts="$(host_names | tr '\n' ' ')" '
        function indent(s) { match(s, /^ */); return RLENGTH }
        function key(s) { sub(/^ +/, "", s); sub(/:.*/, "", s); return s }
        function replaced(s, from, to,    i, out) {
            out = ""
            while ((i = index(s, from)) > 0) { out = out substr(s, 1, i - 1) to; s = substr(s, i + length(from)) }
            return out s
        }
        function flush() { if (pending) print "      hosts: {}"; pending = 0 }
        BEGIN {
            n = split(hosts, hs, " "); for (i = 1; i <= n; i++) keep[hs[i]] = 1
            print "# generated by lab/lab.sh start from " src " for lab instance " id "; removed by stop"
        }
        !started && /^(#.*)?[ \t]*$/ { next }    # the template'"'"'s own header comment
        { started = 1 }
        {
            line = replaced($0, "lab/.run/<id>/", rundir)
            ind = indent(line); blank = (line ~ /^[ \t]*(#.*)?$/)
            if (!blank && ind <= 2) { flush(); sect = (ind == 2) ? key(line) : ""; print line; next }
            if (sect == "hosts") {
                if (!blank && ind == 4) {
                    skip = !(key(line) in keep)
                    if (!skip) { print line; if (mode == "docker") print "      ansible_host: " cprefix key(line) }
                    next
                }
                if (!skip) print line
                next
            }
            if (sect == "children") {
                if (!blank && ind <= 6) { flush(); sub6 = (ind == 6) ? key(line) : "" }
                if (!blank && ind == 6 && sub6 == "hosts" && line ~ /^      hosts:[ \t]*$/) { pending = 1; next }
                if (!blank && ind == 8 && sub6 == "hosts") {
                    if (key(line) in keep) { if (pending) print "      hosts:"; pending = 0; print line }
                    next
                }
            }
            print line
        }
        END { flush() }' "$1"
}

# ---------------------------------------------------------------- commands
cmd_start() {
    local t0=$SECONDS
    [[ $EUID -eq 0 ]] || die "run as root"
    # interrupted: stop our parallel helpers (never dockerd: it runs in its own session)
    trap 'log "interrupted; run lab/lab.sh stop (TSA_LAB_ID=$LAB_ID) to clean up"; jobs -p | xargs -r kill 2>/dev/null; exit 130' INT TERM
    select_hosts
    mkdir -p "$RUN_DIR"; chmod 700 "$LAB_DIR/.run" "$RUN_DIR"
    host_names >"$RUN_DIR/hosts"
    log "lab instance $LAB_ID (run dir ${RUN_DIR#"$REPO_DIR"/}): $(wc -l <"$RUN_DIR/hosts") host(s)"
    lock 8 engine -s           # a stop of another instance leaves dockerd alone until we are up
    start_dockerd
    build_images
    lock 9 host; raise_inotify; unlock 9
    create_network
    firewall_up
    gen_secrets
    write_client_files
    # the servers first: a client whose first NTS-KE attempt fails backs off for minutes
    local servers=() targets=() n
    for n in $(host_names); do
        if [[ "$(host_field "$n" 2)" == nts-server ]]; then servers+=("$n"); else targets+=("$n"); fi
    done
    start_hosts "${servers[@]}"
    wait_hosts "${servers[@]}"
    log "servers up; starting the targets"
    start_hosts "${targets[@]}"
    wait_hosts "${targets[@]}"
    log "daemons active; checking SSH"
    ssh_check_all
    unlock 8
    log "lab instance $LAB_ID up in $((SECONDS - t0)) s"
    cmd_status
}

remove_instance() { # this instance's containers, network, firewall chain, run dir: nothing else
    local i ids
    if ! docker_up && dockerd_pid >/dev/null; then
        for i in $(seq 1 30); do docker_up && break; sleep 0.5; done   # a lab dockerd may be starting
    fi
    # close the SSH connection-sharing masters that the instance's ssh_config made (ControlPersist)
    if [[ -e "$RUN_DIR/ssh_config" ]] && compgen -G "$RUN_DIR/cm-*" >/dev/null; then
        local n
        for n in $(host_names); do
            ssh -F "$RUN_DIR/ssh_config" -O exit "$n" >/dev/null 2>&1 || true
        done
    fi
    if docker_up; then
        ids="$(dk ps -aq --filter "label=$LABEL")"
        if [[ -n "$ids" ]]; then
            log "removing containers: $(dk inspect -f '{{.Name}}' $ids | tr -d / | tr '\n' ' ')"
            # shellcheck disable=SC2086
            dk rm -f $ids >/dev/null || log "WARNING: docker rm -f failed for some of them"
        fi
        ids="$(dk network ls -q --filter "label=$LABEL")"
        if [[ -n "$ids" ]]; then
            log "removing network(s): $(dk network inspect -f '{{.Name}}' $ids | tr '\n' ' ')"
            # shellcheck disable=SC2086
            dk network rm $ids >/dev/null ||
                log "WARNING: network $NET not removed (a container that is not the lab's is attached to it?)"
        fi
    else
        log "WARNING: docker does not answer; no containers/networks removed"
    fi
    firewall_down
    if [[ -d "$RUN_DIR" ]]; then
        log "removing ${RUN_DIR#"$REPO_DIR"/}"
        rm -rf "$RUN_DIR"
    fi
    rmdir "$LAB_DIR/.run" 2>/dev/null || true    # the last instance of this clone
}

cmd_stop() {
    [[ $EUID -eq 0 ]] || die "run as root"
    remove_instance
    release_host_state
    log "lab instance $LAB_ID stopped"
}

cmd_status() {
    echo "lab instance $LAB_ID: run dir $RUN_DIR, network $NET, bridge $BRIDGE, chain $FW_CHAIN, label $LABEL"
    if ! docker_up; then echo "docker is not running: the lab is down"; return 0; fi
    if [[ ! -d "$RUN_DIR" ]] && [[ -z "$(dk ps -aq --filter "label=$LABEL")" ]]; then
        echo "instance $LAB_ID is not running (lab/lab.sh list: the instances that are)"; return 0
    fi
    load_prefix
    printf '%-26s %-36s %-15s %-10s %-20s %s\n' HOST CONTAINER ADDRESS STATE DAEMON ACTIVE
    local n c st act unit
    for n in $(host_names); do
        c="$(cname "$n")"
        unit="$(host_field "$n" 3)"
        st="$(dk inspect -f '{{.State.Status}}' "$c" 2>/dev/null || echo absent)"
        act=-
        [[ "$st" == running ]] && act="$(dk exec "$c" systemctl is-active "$unit.service" 2>/dev/null || true)"
        printf '%-26s %-36s %-15s %-10s %-20s %s\n' "$n" "$c" "${PREFIX:+$(host_ip "$n")}" "$st" "$unit" "$act"
    done
    [[ -z "$PREFIX" ]] || printf '%-26s %-36s %-15s %s\n' "(time-void)" - "$VOID_IP" "unused address: chrony-unreachable's server"
    if [[ -e "$RUN_DIR/ssh_config" ]]; then
        echo "subnet:      $SUBNET"
        echo "ssh_config:  $RUN_DIR/ssh_config   (Host <host name>)"
        echo "known_hosts: $RUN_DIR/known_hosts"
        echo "inventories: $RUN_DIR/lab.yml (ssh, names via ssh_config), $RUN_DIR/lab-docker.yml (docker)," \
             "$RUN_DIR/inventory.yml (ssh, addresses)"
    fi
}

cmd_env() { # the instance's names and paths, as shell assignments (eval "$(lab/lab.sh env)")
    local v
    load_prefix 2>/dev/null || true
    for v in LAB_ID RUN_DIR NET BRIDGE FW_CHAIN LABEL CONTAINER_PREFIX PREFIX; do
        printf 'TSA_LAB_%s=%q\n' "$v" "${!v}"
    done | sed 's/^TSA_LAB_LAB_ID=/TSA_LAB_ID=/; s/^TSA_LAB_NET=/TSA_LAB_NETWORK=/; s/^TSA_LAB_FW_CHAIN=/TSA_LAB_CHAIN=/'
    printf 'TSA_LAB_SSH_CONFIG=%q\n' "$RUN_DIR/ssh_config"
    printf 'TSA_LAB_INVENTORY=%q\n' "$RUN_DIR/lab.yml"
    printf 'TSA_LAB_DOCKER_INVENTORY=%q\n' "$RUN_DIR/lab-docker.yml"
    if [[ -r "$RUN_DIR/hosts" ]]; then printf 'TSA_LAB_RUNNING_HOSTS=%q\n' "$(tr '\n' ' ' <"$RUN_DIR/hosts" | sed 's/ $//')"; fi
}

cmd_list() { # the instances on the engine (by label) and the run dirs of this clone
    local ids=() d
    if docker_up; then
        echo "on the docker engine (containers per instance):"
        dk ps -a --filter "label=$LABEL_KEY" --format '{{.Label "'"$LABEL_KEY"'"}} {{.State}}' |
            sort | uniq -c | awk '{printf "  %-10s %3d %s\n", $2, $1, $3}'
    fi
    for d in "$LAB_DIR"/.run/*/; do [[ -d "$d" ]] && ids+=("$(basename "$d")"); done
    echo "run dirs in $LAB_DIR/.run: ${ids[*]:-none}   (this clone's default id: $(TSA_LAB_ID='' lab_instance && echo "$LAB_ID"))"
}

cmd_clean() {
    [[ $EUID -eq 0 ]] || die "run as root"
    start_dockerd
    remove_instance
    if docker_up; then
        lock 7 build
        if [[ -n "$(dk ps -aq --filter "label=$LABEL_KEY")" ]]; then
            log "other lab instances still run ($(dk ps -a --filter "label=$LABEL_KEY" --format '{{.Label "'"$LABEL_KEY"'"}}' | sort -u | tr '\n' ' ')): images kept"
        else
            log "removing the lab images"
            local name
            for name in "${IMAGES[@]}"; do dk rmi -f "tsa-lab-$name:latest" >/dev/null 2>&1 || true; done
            dk rmi -f "$ROOTFS_IMAGE" >/dev/null 2>&1 || true
        fi
        unlock 7
    else
        log "docker is not running: images not removed (run start or build first)"
    fi
    release_host_state
    log "lab instance $LAB_ID stopped"
}

cmd_build() {
    [[ $EUID -eq 0 ]] || die "run as root"
    lock 8 engine -s
    start_dockerd
    build_images
    unlock 8
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    list) cmd_list ;;
    clean) cmd_clean ;;
    build) cmd_build ;;
    *) echo "usage: $0 start|stop|status|env|list|build|clean   (instance: TSA_LAB_ID, default $LAB_ID)" >&2; exit 2 ;;
esac
