# lab/lib/network.sh - the instance's /24 (chosen among the free ones), its --internal docker
# network and the firewall chain that keeps its targets from opening anything on this machine.
# shellcheck shell=bash

PREFIX=""                      # the instance's /24 (its first three octets), see choose_prefix
PREFIX_RANGE_B="172.29"        # candidates: $PREFIX_RANGE_B.73-254, then .0-72
TAKEN=()                       # subnets in use on this machine, see choose_prefix

set_prefix() { # set_prefix A.B.C
    PREFIX="$1"; SUBNET="$PREFIX.0/24"; GATEWAY="$PREFIX.1"
}
load_prefix() { if [[ -z "$PREFIX" && -s "$RUN_DIR/prefix" ]]; then set_prefix "$(cat "$RUN_DIR/prefix")"; fi; }
address() { echo "$PREFIX.$1"; }    # address OCTET: in the instance's /24

ip2int() { local IFS=. a b c d; read -r a b c d <<<"$1"; echo $(( (a << 24) | (b << 16) | (c << 8) | d )); }
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
        if ! [[ "$p" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
           ! ((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 255)); then
            die "TSA_LAB_PREFIX='$p': expected three octets, e.g. 172.29.73"
        fi
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

remove_network() { # the instance's network(s), by its label
    local ids=()
    mapfile -t ids < <(dk network ls -q --filter "label=$LABEL")
    ((${#ids[@]})) || return 0
    log "removing network(s): $(dk network inspect -f '{{.Name}}' "${ids[@]}" | tr '\n' ' ')"
    dk network rm "${ids[@]}" >/dev/null ||
        log "WARNING: network $NET not removed (a container that is not the lab's is attached to it?)"
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
