#!/usr/bin/env bash
# lab/check.sh - after `lab/lab.sh start`: check that every host of the lab instance is in its
# deliberate live state (daemon active, NTS/sync state as designed) and answers over SSH.
# The instance is lab.sh's: TSA_LAB_ID, default the clone's (lab/instance.sh); only the hosts
# it runs are checked (lab/.run/<id>/hosts, see TSA_LAB_HOSTS).
# Exit status 0 when all checks pass. Waits up to TSA_LAB_CHECK_WAIT seconds (default 30)
# for the time states to settle.
# shellcheck disable=SC2317  # the state functions run through until_ok, which shellcheck cannot see
set -uo pipefail
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lab/instance.sh
source "$LAB_DIR/instance.sh"
# shellcheck source=lab/lib/table.sh
source "$LAB_DIR/lib/table.sh"
lab_instance || exit 2
read_tables || exit 2
DOCKER="${DOCKER:-/usr/bin/docker}"
[[ -x "$DOCKER" ]] || DOCKER=docker
WAIT="${TSA_LAB_CHECK_WAIT:-30}"
fail=0

if [[ ! -r "$RUN_DIR/hosts" || ! -r "$RUN_DIR/prefix" ]]; then
    echo "FAIL  lab instance $LAB_ID is not running (no $RUN_DIR/hosts): lab/lab.sh start"; exit 1
fi
PREFIX="$(cat "$RUN_DIR/prefix")"
mapfile -t HOSTS <"$RUN_DIR/hosts"
echo "lab instance $LAB_ID: ${#HOSTS[@]} host(s) on $PREFIX.0/24"
has() { [[ " ${HOSTS[*]} " == *" $1 "* ]]; }

x() { "$DOCKER" exec "$(cname "$1")" sh -c "$2" 2>/dev/null; }
ok() { printf 'ok    %-26s %s\n' "$1" "$2"; }
bad() { printf 'FAIL  %-26s %s\n' "$1" "$2"; fail=1; }

# retry CHECK until it holds or WAIT seconds have passed since the first check started
t0=$SECONDS
until_ok() { # until_ok HOST DESCRIPTION COMMAND [ARG...] (run on this machine); HOST not in the instance: skipped
    has "$1" || return 0
    while :; do
        if "${@:3}"; then ok "$1" "$2"; return 0; fi
        ((SECONDS - t0 > WAIT)) && { bad "$1" "$2"; return 1; }
        sleep 1
    done
}

# every host: the units of its ready column (lab/hosts.txt) in their states, and SSH
for h in "${HOSTS[@]}"; do
    [[ -n "${HOST_READY[$h]+set}" ]] || { bad "$h" "not in lab/hosts.txt"; continue; }
    for entry in ${HOST_READY[$h]//,/ }; do
        u="${entry%%=*}" want="${entry#*=}"
        got="$(x "$h" "systemctl is-active $u")"
        if [[ "$got" == "$want" ]]; then ok "$h" "$u $want"; else bad "$h" "$u ${got:-unknown}, not $want"; fi
    done
    if ssh -F "$RUN_DIR/ssh_config" "$h" true </dev/null; then ok "$h" "ssh (strict host key)"; else bad "$h" "ssh"; fi
done

# The deliberate states, one function per condition (run through until_ok: SC2317 above).
# chronyc -c authdata: name,mode,keyid,type,klen,last,atmp,nak,cookies,clen
# chronyc -c sources:  mode,state,name,stratum,poll,reach,...
selected() { x "$1" "chronyc -n -c sources" | grep -q '^\^,\*'; }     # HOST: a source is selected
two_nts_sources() { # HOST: both lab servers NTS-authenticated (cookies), one selected
    [[ "$(x "$1" "chronyc -n -c authdata" | awk -F, '$2=="NTS" && $9>0' | wc -l)" == 2 ]] && selected "$1"
}
runs_as_chrony() { [[ "$(x "$1" "ps -o user= -C chronyd" | sort -u)" == _chrony ]]; }   # HOST
mixed_state() { # one NTS source with cookies, one unauthenticated
    [[ "$(x chrony-mixed "chronyc -n -c authdata" | awk -F, '$2=="NTS" && $9>0 {n++} $2=="-" {p++} END {print n+0 "/" p+0}')" == 1/1 ]]
}
untrusted_state() { # both NTS sources tried, 0 cookies, nothing selected
    [[ "$(x chrony-nts-untrusted "chronyc -n -c authdata" | awk -F, '$2=="NTS" && $9==0 && $7>0' | wc -l)" == 2 ]] &&
        ! selected chrony-nts-untrusted
}
stock_state() { ! selected chrony-stock; }   # the public pool is unreachable: nothing selected
unreachable_state() { # the only source is time-void's address, reach 0
    [[ "$(x chrony-unreachable "chronyc -n -c sources")" == "^,?,$(x chrony-unreachable "getent hosts time-void" | cut -d" " -f1),0,"*",0,"* ]]
}
# the four hosts of daemon semantics (lab/README.md)
refused_state() { # unit enabled but failed, no chronyd, chronyd's own reason in the journal
    [[ "$(x chrony-refused "systemctl is-enabled chrony") $(x chrony-refused "systemctl is-active chrony")" == "enabled failed" ]] &&
        ! x chrony-refused "pgrep -x chronyd" >/dev/null &&
        x chrony-refused "journalctl -u chrony -o cat" |
            grep -qxF "Fatal error : Too many arguments for port directive at line 2 in file /etc/chrony/conf.d/20-client-only.conf"
}
unreadable_state() { # chronyd runs as _chrony and skipped its only source file
    runs_as_chrony chrony-unreadable-sources &&
        [[ "$(x chrony-unreadable-sources "stat -c %U:%G:%a /etc/chrony/sources.d/lab.sources")" == root:root:600 ]] &&
        [[ -n "$(x chrony-unreadable-sources "chronyc -n -c tracking")" ]] &&
        [[ -z "$(x chrony-unreadable-sources "chronyc -n -c sources")" ]]
}
next_start_state() { # the running chronyd has no -f; /etc/default/chrony points the next start at next.conf
    # shellcheck disable=SC2016  # $(cat ...) runs in the container
    ! x chrony-next-start 'tr "\0" " " </proc/$(cat /run/chrony/chronyd.pid)/cmdline' | grep -q -- ' -f' &&
        x chrony-next-start 'grep -qx "DAEMON_OPTS=\"-F 1 -x -f /etc/chrony/next.conf\"" /etc/default/chrony'
}
rival_state() { # both packages installed, timesyncd's unit masked and inactive, its process running
    # shellcheck disable=SC2016  # ${Status} is dpkg-query's
    [[ "$(x chrony-rival 'dpkg-query -W -f="\${Status}\n" chrony systemd-timesyncd' | sort | uniq -c | tr -s ' ')" == " 2 install ok installed" ]] &&
        [[ "$(x chrony-rival "systemctl is-enabled systemd-timesyncd") $(x chrony-rival "systemctl is-active systemd-timesyncd")" == "masked inactive" ]] &&
        [[ "$(x chrony-rival "ps -o user:20= -C systemd-timesyn" | tr -d ' ')" == systemd-timesync ]] &&
        [[ "$(x chrony-rival "timedatectl show-timesync -p SystemNTPServers -p FallbackNTPServers -p ServerName --value" | sort -u)" == nts-server ]]
}
ntpsec_state() { x ntpsec "ntpq -pn" | grep -q "^\*${PREFIX//./\\.}\."; }   # a sys.peer among the lab servers
timesyncd_state() { # timesyncd talks to nts-server (stratum 8: the lab server)
    x timesyncd "timedatectl show-timesync -p ServerName --value" | grep -qx nts-server &&
        x timesyncd "timedatectl show-timesync -p NTPMessage --value" | grep -q "Stratum=8"
}

until_ok chrony-hardened "2 NTS sources with cookies, one selected" two_nts_sources chrony-hardened
until_ok chrony-hardened "runs as _chrony" runs_as_chrony chrony-hardened
until_ok chrony-mixed "one NTS source with cookies + one unauthenticated" mixed_state
until_ok chrony-nts-untrusted "NTS-KE fails: 0 cookies, nothing selected" untrusted_state
until_ok chrony-unreachable "only source time-void, reach 0" unreachable_state
until_ok chrony-stock "no usable source (public pool unreachable)" stock_state
until_ok chrony-refused "chrony enabled but failed (chronyd refuses conf.d/20-client-only.conf:2), no chronyd" refused_state
until_ok chrony-unreadable-sources "runs as _chrony with no source (sources.d/lab.sources root:root 0600)" unreadable_state
until_ok chrony-next-start "running chronyd has no -f; the next start reads /etc/chrony/next.conf" next_start_state
until_ok chrony-next-start "2 NTS sources with cookies, one selected" two_nts_sources chrony-next-start
until_ok chrony-rival "chrony and systemd-timesyncd installed, timesyncd masked but running, asking nts-server only" rival_state
until_ok chrony-rival "2 NTS sources with cookies, one selected" two_nts_sources chrony-rival
until_ok ntpsec "ntpd has a sys.peer among the lab servers" ntpsec_state
until_ok timesyncd "timesyncd talks to nts-server" timesyncd_state

exit $fail
