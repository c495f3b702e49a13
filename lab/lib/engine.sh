# lab/lib/engine.sh - the docker engine and the host settings the lab changes: dockerd is started
# only when none answers, and stopped only by the rules of release_host_state; the same rules
# keep or restore fs.inotify.max_user_instances.
# shellcheck shell=bash

INOTIFY_WANT=1024

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
    for _ in $(seq 1 60); do
        if docker_up && dockerd_pid >/dev/null; then log "dockerd up (pid $(dockerd_pid))"; unlock 9; return 0; fi
        sleep 0.5
    done
    tail -20 "$SHARED_DIR/dockerd.log" >&2
    die "dockerd did not answer within 30 s (see $SHARED_DIR/dockerd.log)"
}

wait_for_lab_dockerd() { # a dockerd a lab instance started may still be coming up
    if ! docker_up && dockerd_pid >/dev/null; then
        for _ in $(seq 1 30); do docker_up && break; sleep 0.5; done
    fi
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
    local pid
    if pid="$(dockerd_pid)"; then
        log "stopping the dockerd lab instance $(cat "$SHARED_DIR/dockerd.owner" 2>/dev/null) started (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then log "dockerd $pid still alive after 30 s; sending KILL"; kill -KILL "$pid"; fi
    fi
    rm -f "$SHARED_DIR/dockerd.pid"
    if [[ -s "$SHARED_DIR/dockerd.log" ]]; then cp "$SHARED_DIR/dockerd.log" /tmp/tsa-lab-dockerd.last.log; fi
    rm -f "$SHARED_DIR/dockerd.log"
    restore_dockerd_changes
}

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

container_names() { # container_names ID...: their names, without docker's leading /
    dk inspect -f '{{.Name}}' "$@" | tr -d /
}

# After an instance removed its own objects: the dockerd a lab instance started is stopped (and
# its host changes undone) only if this instance started it, or the instance that started it
# has stopped since and left it running, AND no container at all remains on the engine
# (another instance's, or anybody else's). The inotify sysctl is restored when no lab
# container remains. Otherwise both stay, and the instance leaving says why.
release_host_state() {
    lock 8 engine -x           # no start of any instance is under way meanwhile
    local up=0 others=() lab_others=() owner pid
    if docker_up; then
        up=1
        mapfile -t others < <(dk ps -aq)
        mapfile -t lab_others < <(dk ps -aq --filter "label=$LABEL_KEY")
    fi
    owner="$(cat "$SHARED_DIR/dockerd.owner" 2>/dev/null || true)"
    if pid="$(dockerd_pid)"; then
        if [[ "$owner" == "$LAB_ID" || "$owner" == - ]]; then
            if ((up)) && ((${#others[@]} == 0)); then
                stop_dockerd
            elif ((up)); then
                if [[ "$owner" == "$LAB_ID" ]]; then
                    echo - >"$SHARED_DIR/dockerd.owner"   # the next lab stop that finds the engine empty stops it
                fi
                log "leaving dockerd (pid $pid) running: ${#others[@]} container(s) remain on it" \
                    "($(container_names "${others[@]}" | head -5 | tr '\n' ' ' | sed 's/ $//'))"
            else
                log "WARNING: dockerd (pid $pid) does not answer; left running (kill $pid to stop it)"
            fi
        fi
    elif [[ -n "$owner" ]] && ! ((up)); then
        log "the dockerd a lab instance started is gone; restoring what it changed"
        restore_dockerd_changes
        rm -f "$SHARED_DIR/dockerd.pid"
    fi
    if ((${#lab_others[@]} == 0)); then
        restore_inotify
    elif [[ -s "$SHARED_DIR/inotify.max_user_instances.orig" ]]; then
        log "leaving fs.inotify.max_user_instances raised: ${#lab_others[@]} lab container(s) of other instances remain"
    fi
    unlock 8
}
