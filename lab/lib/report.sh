# lab/lib/report.sh - what lab.sh prints about instances: status, env, list.
# shellcheck shell=bash

report_status() {
    echo "lab instance $LAB_ID: run dir $RUN_DIR, network $NET, bridge $BRIDGE, chain $FW_CHAIN, label $LABEL"
    if ! docker_up; then echo "docker is not running: the lab is down"; return 0; fi
    if [[ ! -d "$RUN_DIR" ]] && [[ -z "$(dk ps -aq --filter "label=$LABEL")" ]]; then
        echo "instance $LAB_ID is not running (lab/lab.sh list: the instances that are)"; return 0
    fi
    load_prefix
    printf '%-26s %-36s %-15s %-10s %-20s %s\n' HOST CONTAINER ADDRESS STATE DAEMON ACTIVE
    local n c st act unit entry
    for n in $(host_names); do
        c="$(cname "$n")"
        unit="${HOST_UNIT[$n]}"
        st="$(dk inspect -f '{{.State.Status}}' "$c" 2>/dev/null || echo absent)"
        act=-
        [[ "$st" == running ]] && act="$(dk exec "$c" systemctl is-active "$unit.service" 2>/dev/null || true)"
        printf '%-26s %-36s %-15s %-10s %-20s %s\n' "$n" "$c" "${PREFIX:+$(host_ip "$n")}" "$st" "$unit" "$act"
    done
    if [[ -n "$PREFIX" ]]; then
        for n in $(host_names); do
            for entry in ${HOST_ETC_HOSTS[$n]//,/ }; do
                printf '%-26s %-36s %-15s %s\n' "(${entry%%=*})" - "$(address "${entry#*=}")" "unused address, in $n's /etc/hosts"
            done
        done
    fi
    if [[ -e "$RUN_DIR/ssh_config" ]]; then
        echo "subnet:      $SUBNET"
        echo "ssh_config:  $RUN_DIR/ssh_config   (Host <host name>)"
        echo "known_hosts: $RUN_DIR/known_hosts"
        echo "inventories: $RUN_DIR/lab.yml (ssh, names via ssh_config), $RUN_DIR/lab-docker.yml (docker)," \
             "$RUN_DIR/inventory.yml (ssh, addresses)"
    fi
}

report_env() { # the instance's names and paths, as shell assignments (eval "$(lab/lab.sh env)")
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

report_list() { # the instances on the engine (by label) and the run dirs of this clone
    local ids=() d
    if docker_up; then
        echo "on the docker engine (containers per instance):"
        dk ps -a --filter "label=$LABEL_KEY" --format '{{.Label "'"$LABEL_KEY"'"}} {{.State}}' |
            sort | uniq -c | awk '{printf "  %-10s %3d %s\n", $2, $1, $3}'
    fi
    for d in "$LAB_DIR"/.run/*/; do [[ -d "$d" ]] && ids+=("$(basename "$d")"); done
    echo "run dirs in $LAB_DIR/.run: ${ids[*]:-none}   (this clone's default id: $(TSA_LAB_ID='' lab_instance && echo "$LAB_ID"))"
}
