#!/usr/bin/env bash
# lab/lab.sh - the lab of real target hosts for the timesync audit suite.
#
#   lab/lab.sh start    build images (cached), start the hosts, write ssh_config/known_hosts/inventory
#   lab/lab.sh stop     remove every container/network/run file this script created, stop the
#                       dockerd it started (by PID), restore the inotify sysctl
#   lab/lab.sh status   print hosts, addresses and state
#   lab/lab.sh build    start dockerd if needed and build the images only
#   lab/lab.sh clean    remove the lab's images too, then stop
#
# Environment:
#   TSA_LAB_PREFIX   first three octets of the lab /24 (default 172.29.73)
#   TSA_LAB_NETWORK  docker network name (default tsa-lab)
#   DOCKER           docker client (default /usr/bin/docker, Debian's, matching Debian's dockerd)
#
# See lab/README.md.
set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$LAB_DIR/.." && pwd)"
RUN_DIR="$LAB_DIR/.run"
IMG_DIR="$LAB_DIR/images"

NET="${TSA_LAB_NETWORK:-tsa-lab}"
BRIDGE="${TSA_LAB_BRIDGE:-tsalab0}"     # host-side bridge interface of $NET
FW_CHAIN="TSA-LAB-IN"
PREFIX="${TSA_LAB_PREFIX:-172.29.73}"
SUBNET="$PREFIX.0/24"
GATEWAY="$PREFIX.1"
VOID_IP="$PREFIX.250"          # nothing ever listens here (chrony-unreachable's server)
LABEL="tsa-lab"                # label on every container and network we create
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

host_field() { # host_field NAME INDEX
    local h
    for h in "${HOSTS[@]}"; do
        read -r -a f <<<"$h"
        if [[ "${f[0]}" == "$1" ]]; then echo "${f[$2]}"; return 0; fi
    done
    return 1
}
host_names() { local h; for h in "${HOSTS[@]}"; do read -r -a f <<<"$h"; echo "${f[0]}"; done; }
host_ip() { echo "$PREFIX.$(host_field "$1" 1)"; }

# ---------------------------------------------------------------- dockerd
docker_up() { dk info >/dev/null 2>&1; }

dockerd_pid() { # pid of the dockerd this lab started, if it is alive
    local pidf="$RUN_DIR/dockerd.pid" pid
    [[ -s "$pidf" ]] || return 1
    pid="$(cat "$pidf")"
    [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" == dockerd ]] || return 1
    echo "$pid"
}

start_dockerd() {
    if docker_up; then return 0; fi
    command -v dockerd >/dev/null || die "dockerd missing: apt-get install -y docker.io debootstrap"
    mkdir -p "$RUN_DIR"
    if dockerd_pid >/dev/null; then
        log "dockerd (pid $(dockerd_pid)) started earlier is still coming up"
    else
        log "starting dockerd in the background"
        # dockerd sets the FORWARD policy to DROP and enables ip_forward: put both back at stop
        [[ -e "$RUN_DIR/forward-policy.orig" ]] ||
            iptables -S FORWARD 2>/dev/null | awk '$1=="-P"{print $3; exit}' >"$RUN_DIR/forward-policy.orig" || true
        [[ -e "$RUN_DIR/ip_forward.orig" ]] || sysctl -n net.ipv4.ip_forward >"$RUN_DIR/ip_forward.orig"
        # dockerd creates its default bridge docker0 and leaves it behind
        [[ -e "$RUN_DIR/docker0.created" ]] || ip link show docker0 >/dev/null 2>&1 || touch "$RUN_DIR/docker0.created"
        # own session (survives this script and its caller's process group), stdio detached;
        # dockerd itself writes its PID to $RUN_DIR/dockerd.pid: stop kills exactly that process
        rm -f "$RUN_DIR/dockerd.pid"
        (setsid dockerd --pidfile "$RUN_DIR/dockerd.pid" >>"$RUN_DIR/dockerd.log" 2>&1 </dev/null &)
    fi
    local i
    for i in $(seq 1 60); do
        if docker_up && dockerd_pid >/dev/null; then log "dockerd up (pid $(dockerd_pid))"; return 0; fi
        sleep 0.5
    done
    tail -20 "$RUN_DIR/dockerd.log" >&2
    die "dockerd did not answer within 30 s (see $RUN_DIR/dockerd.log)"
}

stop_dockerd() {
    local pid i
    if pid="$(dockerd_pid)"; then
        log "stopping the dockerd this lab started (pid $pid)"
        kill -TERM "$pid"
        for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then log "dockerd $pid still alive after 30 s; sending KILL"; kill -KILL "$pid"; fi
    fi
    rm -f "$RUN_DIR/dockerd.pid"
    [[ ! -s "$RUN_DIR/dockerd.log" ]] || cp "$RUN_DIR/dockerd.log" /tmp/tsa-lab-dockerd.last.log
    if [[ -s "$RUN_DIR/forward-policy.orig" ]]; then
        iptables -P FORWARD "$(cat "$RUN_DIR/forward-policy.orig")" || true
        rm -f "$RUN_DIR/forward-policy.orig"
    fi
    if [[ -e "$RUN_DIR/docker0.created" ]]; then
        ip link delete docker0 2>/dev/null || true
        rm -f "$RUN_DIR/docker0.created"
    fi
    if [[ -s "$RUN_DIR/ip_forward.orig" ]]; then
        sysctl -q -w net.ipv4.ip_forward="$(cat "$RUN_DIR/ip_forward.orig")" || true
        rm -f "$RUN_DIR/ip_forward.orig"
    fi
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

build_images() {
    build_rootfs
    local name tag want have
    for name in "${IMAGES[@]}"; do
        tag="tsa-lab-$name:latest"
        want="$(image_hash "$name")"
        have="$(dk image inspect -f '{{index .Config.Labels "tsa-lab.hash"}}' "$tag" 2>/dev/null || true)"
        if [[ "$want" == "$have" ]]; then continue; fi
        log "building $tag"
        if ! dk build -q --label "tsa-lab.hash=$want" -t "$tag" "$IMG_DIR/$name" >"$RUN_DIR/build-$name.log" 2>&1; then
            dk build --label "tsa-lab.hash=$want" -t "$tag" "$IMG_DIR/$name" 2>&1 | tail -30 >&2
            die "docker build $tag failed"
        fi
    done
}

# ---------------------------------------------------------------- sysctl
raise_inotify() {
    local cur
    cur="$(sysctl -n fs.inotify.max_user_instances)"
    if (( cur < INOTIFY_WANT )); then
        [[ -e "$RUN_DIR/inotify.max_user_instances.orig" ]] || echo "$cur" >"$RUN_DIR/inotify.max_user_instances.orig"
        log "fs.inotify.max_user_instances $cur -> $INOTIFY_WANT (restored by stop)"
        sysctl -q -w fs.inotify.max_user_instances="$INOTIFY_WANT"
    fi
}

restore_inotify() {
    local f="$RUN_DIR/inotify.max_user_instances.orig"
    [[ -s "$f" ]] || return 0
    log "restoring fs.inotify.max_user_instances=$(cat "$f")"
    sysctl -q -w fs.inotify.max_user_instances="$(cat "$f")"
    rm -f "$f"
}

# ---------------------------------------------------------------- network
create_network() {
    if dk network inspect "$NET" >/dev/null 2>&1; then
        [[ "$(dk network inspect -f '{{.Internal}}' "$NET")" == true ]] || die "network $NET exists and is not --internal"
        return 0
    fi
    if ip -4 route show | awk '{print $1}' | grep -qx "$SUBNET"; then
        die "subnet $SUBNET is already routed on this machine; set TSA_LAB_PREFIX"
    fi
    log "docker network create --internal $NET ($SUBNET)"
    dk network create --internal --driver bridge --subnet "$SUBNET" --gateway "$GATEWAY" \
        -o "com.docker.network.bridge.name=$BRIDGE" --label "$LABEL=1" "$NET" >/dev/null
}

# --internal already stops forwarding from the lab to anywhere else (docker's
# DOCKER-ISOLATION rules). This also stops targets from opening anything on the host
# itself: from the lab bridge, the host accepts only replies to connections it opened
# (the suite's SSH sessions).
firewall_up() {
    local ipt
    for ipt in iptables ip6tables; do
        command -v "$ipt" >/dev/null || continue
        "$ipt" -N "$FW_CHAIN" 2>/dev/null || "$ipt" -F "$FW_CHAIN"
        "$ipt" -A "$FW_CHAIN" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
        "$ipt" -A "$FW_CHAIN" -j DROP
        "$ipt" -C INPUT -i "$BRIDGE" -j "$FW_CHAIN" 2>/dev/null || "$ipt" -I INPUT 1 -i "$BRIDGE" -j "$FW_CHAIN"
    done
}

firewall_down() {
    local ipt
    for ipt in iptables ip6tables; do
        command -v "$ipt" >/dev/null || continue
        while "$ipt" -D INPUT -i "$BRIDGE" -j "$FW_CHAIN" 2>/dev/null; do :; done
        "$ipt" -F "$FW_CHAIN" 2>/dev/null || true
        "$ipt" -X "$FW_CHAIN" 2>/dev/null || true
    done
}

# ---------------------------------------------------------------- per-run secrets
gen_secrets() {
    mkdir -p "$RUN_DIR"
    chmod 700 "$RUN_DIR"
    if [[ ! -s "$RUN_DIR/id_ed25519" ]]; then
        log "generating the lab SSH key"
        ssh-keygen -q -t ed25519 -N '' -C "tsa-lab" -f "$RUN_DIR/id_ed25519"
    fi
    local n
    mkdir -p "$RUN_DIR/hostkeys"
    for n in $(host_names); do
        [[ -s "$RUN_DIR/hostkeys/$n" ]] || ssh-keygen -q -t ed25519 -N '' -C "root@$n" -f "$RUN_DIR/hostkeys/$n"
    done
    mkdir -p "$RUN_DIR/nts"
    if [[ ! -s "$RUN_DIR/nts/nts.crt" ]]; then
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
    tar -C "$st" --numeric-owner --no-recursion -cf - -T "$st.list" | dk cp -a - "$n:/"
}

create_host() {
    local n="$1" octet img args=()
    octet="$(host_field "$n" 1)"; img="$(host_field "$n" 2)"
    case "$n" in
        nts-server|nts-server2) ;;
        chrony-unreachable) args+=(--add-host "time-void:$VOID_IP") ;;
    esac
    dk create --name "$n" --hostname "$n" --label "$LABEL=1" \
        --network "$NET" --ip "$PREFIX.$octet" \
        --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
        --stop-timeout 5 "${args[@]}" "tsa-lab-$img:latest" >/dev/null
    stage_host "$n" "$img"
}

start_one() { # (re)create and start host $1 unless it already runs the current image
    local n="$1" img state
    img="tsa-lab-$(host_field "$n" 2):latest"
    state="$(dk inspect -f '{{.State.Status}}' "$n" 2>/dev/null)" || state=absent
    if [[ "$state" == running ]] &&
       [[ "$(dk inspect -f '{{.Image}}' "$n")" == "$(dk image inspect -f '{{.Id}}' "$img")" ]]; then
        return 0
    fi
    [[ "$state" == absent ]] || dk rm -f "$n" >/dev/null
    create_host "$n"
    dk start "$n" >/dev/null
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
    dk exec "$n" sh -c "$check" 2>/dev/null
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
                log "$n: ssh=$(dk exec "$n" systemctl is-active ssh.service 2>&1) $(host_field "$n" 3)=$(dk exec "$n" systemctl is-active "$(host_field "$n" 3).service" 2>&1)"
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
        echo "# generated by lab/lab.sh start; removed by lab/lab.sh stop"
        echo "# usage: ssh -F $RUN_DIR/ssh_config chrony-hardened"
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

    # inventory with addresses and absolute paths (the committed inventories/lab.yml uses
    # host names resolved through lab/.run/ssh_config instead)
    {
        echo "# generated by lab/lab.sh start (addresses + absolute paths); removed by stop"
        echo "all:"
        echo "  vars:"
        echo "    ansible_user: root"
        echo "    ansible_ssh_private_key_file: $RUN_DIR/id_ed25519"
        echo "    ansible_ssh_common_args: -o UserKnownHostsFile=$RUN_DIR/known_hosts -o StrictHostKeyChecking=yes"
        echo "    lab_approved_servers: [nts-server, nts-server2]"
        echo "  hosts:"
        for n in $(host_names); do
            echo "    $n:"
            echo "      ansible_host: $(host_ip "$n")"
        done
        echo "  children:"
        local g
        for g in chrony ntpsec timesyncd lab_infra lab_targets; do
            echo "    $g:"
            echo "      hosts:"
            for n in $(host_names); do
                if [[ ",$(host_field "$n" 4)," == *",$g,"* ]]; then echo "        $n: {}"; fi
            done
        done
    } >"$RUN_DIR/inventory.yml"
}

# ---------------------------------------------------------------- commands
cmd_start() {
    local t0=$SECONDS
    [[ $EUID -eq 0 ]] || die "run as root"
    # interrupted: stop our parallel helpers (never dockerd: it runs in its own session)
    trap 'log "interrupted; run lab/lab.sh stop to clean up"; jobs -p | xargs -r kill 2>/dev/null; exit 130' INT TERM
    mkdir -p "$RUN_DIR"; chmod 700 "$RUN_DIR"
    start_dockerd
    build_images
    raise_inotify
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
    log "lab up in $((SECONDS - t0)) s"
    cmd_status
}

cmd_stop() {
    [[ $EUID -eq 0 ]] || die "run as root"
    local i
    if ! docker_up && dockerd_pid >/dev/null; then
        for i in $(seq 1 30); do docker_up && break; sleep 0.5; done   # our dockerd may be starting
    fi
    # close the SSH connection-sharing masters that lab/.run/ssh_config made (ControlPersist)
    if [[ -e "$RUN_DIR/ssh_config" ]] && compgen -G "$RUN_DIR/cm-*" >/dev/null; then
        local n
        for n in $(host_names); do
            ssh -F "$RUN_DIR/ssh_config" -O exit "$n" >/dev/null 2>&1 || true
        done
    fi
    if docker_up; then
        local ids
        ids="$(dk ps -aq --filter "label=$LABEL=1")"
        if [[ -n "$ids" ]]; then
            log "removing containers: $(dk inspect -f '{{.Name}}' $ids | tr -d / | tr '\n' ' ')"
            # shellcheck disable=SC2086
            dk rm -f $ids >/dev/null
        fi
        ids="$(dk network ls -q --filter "label=$LABEL=1")"
        if [[ -n "$ids" ]]; then
            log "removing network(s): $(dk network inspect -f '{{.Name}}' $ids | tr '\n' ' ')"
            # shellcheck disable=SC2086
            dk network rm $ids >/dev/null
        fi
    else
        log "WARNING: docker does not answer; no containers/networks removed"
    fi
    firewall_down
    stop_dockerd
    restore_inotify
    if [[ -d "$RUN_DIR" ]]; then
        log "removing $RUN_DIR"
        rm -rf "$RUN_DIR"
    fi
    log "lab stopped"
}

cmd_status() {
    if ! docker_up; then echo "docker is not running: lab is down"; return 0; fi
    printf '%-26s %-15s %-10s %-20s %s\n' HOST ADDRESS STATE DAEMON ACTIVE
    local n st act unit
    for n in $(host_names); do
        unit="$(host_field "$n" 3)"
        st="$(dk inspect -f '{{.State.Status}}' "$n" 2>/dev/null || echo absent)"
        act=-
        [[ "$st" == running ]] && act="$(dk exec "$n" systemctl is-active "$unit.service" 2>/dev/null || true)"
        printf '%-26s %-15s %-10s %-20s %s\n' "$n" "$(host_ip "$n")" "$st" "$unit" "$act"
    done
    printf '%-26s %-15s %s\n' "(time-void)" "$VOID_IP" "unused address: chrony-unreachable's server"
    if [[ -e "$RUN_DIR/ssh_config" ]]; then
        echo "ssh_config:  $RUN_DIR/ssh_config"
        echo "known_hosts: $RUN_DIR/known_hosts"
        echo "inventory:   $REPO_DIR/inventories/lab.yml (names via ssh_config), $RUN_DIR/inventory.yml (addresses)"
    fi
}

cmd_clean() {
    [[ $EUID -eq 0 ]] || die "run as root"
    mkdir -p "$RUN_DIR"; chmod 700 "$RUN_DIR"
    start_dockerd
    if docker_up; then
        local ids name
        ids="$(dk ps -aq --filter "label=$LABEL=1")"
        # shellcheck disable=SC2086
        [[ -z "$ids" ]] || dk rm -f $ids >/dev/null
        log "removing the lab images"
        for name in "${IMAGES[@]}"; do dk rmi -f "tsa-lab-$name:latest" >/dev/null 2>&1 || true; done
        dk rmi -f "$ROOTFS_IMAGE" >/dev/null 2>&1 || true
    else
        log "docker is not running: images not removed (run start or build first)"
    fi
    cmd_stop
}

cmd_build() {
    [[ $EUID -eq 0 ]] || die "run as root"
    mkdir -p "$RUN_DIR"; chmod 700 "$RUN_DIR"
    start_dockerd
    build_images
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    clean) cmd_clean ;;
    build) cmd_build ;;
    *) echo "usage: $0 start|stop|status|build|clean" >&2; exit 2 ;;
esac
