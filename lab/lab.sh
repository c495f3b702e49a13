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
#   lab/lab.sh inventories [DIR]  write inventories/lab.yml and lab-docker.yml (or into DIR)
#                       from the host table lab/hosts.txt and lab/groups.txt
#   lab/lab.sh readme [FILE]      rewrite the host table of lab/README.md (or of FILE) from them
#
# Environment:
#   TSA_LAB_ID       the instance's run id, 1-8 of [a-z0-9] (default: derived from the clone's path)
#   TSA_LAB_HOSTS    start only these hosts, e.g. "nts-server chrony-stock" (default: all)
#   TSA_LAB_PREFIX   first three octets of the instance's /24 (default: the first free one of
#                    172.29.73-254.0/24, 172.29.0-72.0/24; remembered in the run dir)
#   DOCKER           docker client (default /usr/bin/docker, Debian's, matching Debian's dockerd)
#
# The parts are in lab/lib/ (one concern each); see lab/README.md.
set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$LAB_DIR/.." && pwd)"
# shellcheck source=lab/instance.sh
source "$LAB_DIR/instance.sh"
# shellcheck source=lab/lib/common.sh
source "$LAB_DIR/lib/common.sh"
# shellcheck source=lab/lib/table.sh
source "$LAB_DIR/lib/table.sh"
# shellcheck source=lab/lib/engine.sh
source "$LAB_DIR/lib/engine.sh"
# shellcheck source=lab/lib/images.sh
source "$LAB_DIR/lib/images.sh"
# shellcheck source=lab/lib/network.sh
source "$LAB_DIR/lib/network.sh"
# shellcheck source=lab/lib/keys.sh
source "$LAB_DIR/lib/keys.sh"
# shellcheck source=lab/lib/hosts.sh
source "$LAB_DIR/lib/hosts.sh"
# shellcheck source=lab/lib/client.sh
source "$LAB_DIR/lib/client.sh"
# shellcheck source=lab/lib/readme.sh
source "$LAB_DIR/lib/readme.sh"
# shellcheck source=lab/lib/report.sh
source "$LAB_DIR/lib/report.sh"
lab_instance || exit 2         # LAB_ID RUN_DIR NET BRIDGE FW_CHAIN LABEL_KEY LABEL CONTAINER_PREFIX
read_tables || exit 2

need_root() { [[ $EUID -eq 0 ]] || die "run as root"; }

cmd_start() {
    local t0=$SECONDS
    need_root
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
    write_known_hosts
    write_ssh_config
    write_instance_inventories
    start_all_hosts
    log "daemons active; checking SSH"
    ssh_check_all
    unlock 8
    log "lab instance $LAB_ID up in $((SECONDS - t0)) s"
    report_status
}

remove_instance() { # this instance's containers, network, firewall chain, run dir: nothing else
    wait_for_lab_dockerd
    close_ssh_masters
    if docker_up; then
        remove_containers
        remove_network
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
    need_root
    remove_instance
    release_host_state
    log "lab instance $LAB_ID stopped"
}

cmd_clean() {
    need_root
    start_dockerd
    remove_instance
    if docker_up; then
        remove_images
    else
        log "docker is not running: images not removed (run start or build first)"
    fi
    release_host_state
    log "lab instance $LAB_ID stopped"
}

cmd_build() {
    need_root
    lock 8 engine -s
    start_dockerd
    build_images
    unlock 8
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) report_status ;;
    env) report_env ;;
    list) report_list ;;
    clean) cmd_clean ;;
    build) cmd_build ;;
    inventories) write_committed_inventories "${2:-}" ;;
    readme) write_readme "${2:-$LAB_DIR/README.md}" ;;
    *) echo "usage: $0 start|stop|status|env|list|build|clean|inventories [DIR]|readme [FILE]   (instance: TSA_LAB_ID, default $LAB_ID)" >&2; exit 2 ;;
esac
