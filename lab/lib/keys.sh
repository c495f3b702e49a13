# lab/lib/keys.sh - the instance's secrets, made at start in its run dir: the SSH client key, one
# host key per host, the NTS server certificate (and the rogue one), and known_hosts.
# shellcheck shell=bash

nts_servers() { local n; for n in "${TABLE_HOSTS[@]}"; do [[ "${HOST_NTS[$n]}" != server ]] || echo "$n"; done; }

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
        local servers=() names=() addresses=() san
        mapfile -t servers < <(nts_servers)
        for n in "${servers[@]}"; do names+=("DNS:$n"); addresses+=("IP:$(host_ip "$n")"); done
        san="$(IFS=,; echo "${names[*]},${addresses[*]}")"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
            -subj "/CN=${servers[0]}" -addext "subjectAltName=$san" \
            -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth" \
            -keyout "$RUN_DIR/nts/nts.key" -out "$RUN_DIR/nts/nts.crt" 2>/dev/null
        # a second, unrelated certificate with the same names: the rogue-ca hosts trust only this one
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
            -subj "/CN=${servers[0]}" -addext "subjectAltName=$san" \
            -keyout "$RUN_DIR/nts/rogue.key" -out "$RUN_DIR/nts/rogue.crt" 2>/dev/null
        rm -f "$RUN_DIR/nts/rogue.key"
        echo "$PREFIX" >"$RUN_DIR/nts/prefix"
    fi
}

write_known_hosts() { # <host>,<address> <host key> for each of the instance's hosts
    local n
    for n in $(host_names); do
        printf '%s,%s %s\n' "$n" "$(host_ip "$n")" "$(cut -d' ' -f1,2 "$RUN_DIR/hostkeys/$n.pub")"
    done >"$RUN_DIR/known_hosts.tmp"
    mv "$RUN_DIR/known_hosts.tmp" "$RUN_DIR/known_hosts"
}
