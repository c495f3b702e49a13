# lab/lib/common.sh - what every part of lab.sh uses: messages, the docker client, the
# machine-wide directory and its locks.
# shellcheck shell=bash

# Machine-wide, shared by every instance (tmpfs: gone at reboot, like dockerd and sysctls):
# the locks, and what a lab instance changed on the host beyond its own objects (the dockerd
# it started, the values to restore).
SHARED_DIR="/run/tsa-lab"
if [[ -z "${DOCKER:-}" ]]; then
    if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi

log() { printf '[lab %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
dk() { "$DOCKER" "$@"; }

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
