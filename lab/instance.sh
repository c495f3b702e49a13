# lab/instance.sh - sourced by lab/lab.sh and lab/check.sh: which lab instance this is, and
# the names of its objects. Nothing here touches the machine.
#
# A lab instance is one set of containers with its own run id (TSA_LAB_ID). Every object
# an instance creates carries the id, so two instances (two clones, two CI jobs, the e2e
# selftests beside a lab started by hand) run side by side on one docker engine:
#
#   run id            TSA_LAB_ID (1-8 of [a-z0-9]); unset: the first 6 hex digits of the
#                     sha256 of the clone's physical path (a clone keeps its id)
#   run dir           lab/.run/<id>/
#   containers        tsa-<id>-<host>        (--hostname <host>, network alias <host>)
#   network           tsa-lab-<id>           (label tsa-lab=<id>, like the containers)
#   bridge            tsalab-<id>            (<= 15 characters)
#   firewall chain    TSA-LAB-IN-<id>        (<= 28 characters; iptables and ip6tables)
#
# selftests/e2e/runner.py (Instance) follows the same rules.
# shellcheck shell=bash

# lab_instance: sets LAB_ID, RUN_DIR, NET, BRIDGE, FW_CHAIN, LABEL_KEY, LABEL, CONTAINER_PREFIX.
# Needs LAB_DIR. Returns 1 (with a message on stderr) when TSA_LAB_ID is not a valid id.
# shellcheck disable=SC2034  # the names are for the scripts that source this file
lab_instance() {
    local repo
    if [[ -n "${TSA_LAB_ID:-}" ]]; then
        LAB_ID="$TSA_LAB_ID"
        if ! [[ "$LAB_ID" =~ ^[a-z0-9]{1,8}$ ]]; then
            echo "TSA_LAB_ID='$LAB_ID': a lab run id is 1 to 8 characters of [a-z0-9]" >&2
            return 1
        fi
    else
        repo="$(cd "$LAB_DIR/.." && pwd -P)"
        LAB_ID="$(printf '%s' "$repo" | sha256sum | cut -c1-6)"
    fi
    RUN_DIR="$LAB_DIR/.run/$LAB_ID"
    NET="tsa-lab-$LAB_ID"
    BRIDGE="tsalab-$LAB_ID"
    FW_CHAIN="TSA-LAB-IN-$LAB_ID"
    LABEL_KEY="tsa-lab"
    LABEL="$LABEL_KEY=$LAB_ID"
    CONTAINER_PREFIX="tsa-$LAB_ID-"
}

cname() { echo "$CONTAINER_PREFIX$1"; }   # container name of host $1
