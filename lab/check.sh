#!/usr/bin/env bash
# lab/check.sh - after `lab/lab.sh start`: check that every lab host is in its deliberate
# live state (daemon active, NTS/sync state as designed) and answers over SSH.
# Exit status 0 when all checks pass. Waits up to TSA_LAB_CHECK_WAIT seconds (default 30)
# for the time states to settle.
set -uo pipefail
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN_DIR="$LAB_DIR/.run"
DOCKER="${DOCKER:-/usr/bin/docker}"
[[ -x "$DOCKER" ]] || DOCKER=docker
WAIT="${TSA_LAB_CHECK_WAIT:-30}"
fail=0

x() { "$DOCKER" exec "$1" sh -c "$2" 2>/dev/null; }
ok() { printf 'ok    %-22s %s\n' "$1" "$2"; }
bad() { printf 'FAIL  %-22s %s\n' "$1" "$2"; fail=1; }

# retry CHECK until it holds or WAIT seconds have passed since the first check started
t0=$SECONDS
until_ok() { # until_ok HOST DESCRIPTION SHELL-CONDITION (run on this machine)
    while :; do
        if eval "$3"; then ok "$1" "$2"; return 0; fi
        ((SECONDS - t0 > WAIT)) && { bad "$1" "$2"; return 1; }
        sleep 1
    done
}

declare -A UNIT=([ntpsec]=ntpsec [timesyncd]=systemd-timesyncd)
HOSTS=(nts-server nts-server2 chrony-hardened chrony-stock chrony-weak chrony-nts-untrusted
       chrony-mixed chrony-unreachable ntpsec timesyncd)

for h in "${HOSTS[@]}"; do
    u="${UNIT[$h]:-chrony}"
    if [[ "$(x "$h" "systemctl is-active $u")" == active ]]; then ok "$h" "$u active"; else bad "$h" "$u not active"; fi
    if ssh -F "$RUN_DIR/ssh_config" "$h" true </dev/null; then ok "$h" "ssh (strict host key)"; else bad "$h" "ssh"; fi
done

# chronyc -c authdata: name,mode,keyid,type,klen,last,atmp,nak,cookies,clen
# chronyc -c sources:  mode,state,name,stratum,poll,reach,...
until_ok chrony-hardened "2 NTS sources with cookies, one selected" \
    '[[ "$(x chrony-hardened "chronyc -n -c authdata" | awk -F, '\''$2=="NTS" && $9>0'\'' | wc -l)" == 2 ]] &&
     x chrony-hardened "chronyc -n -c sources" | grep -q "^\^,\*"'
until_ok chrony-hardened "runs as _chrony" '[[ "$(x chrony-hardened "ps -o user= -C chronyd" | sort -u)" == _chrony ]]'
until_ok chrony-mixed "one NTS source with cookies + one unauthenticated" \
    '[[ "$(x chrony-mixed "chronyc -n -c authdata" | awk -F, '\''$2=="NTS" && $9>0 {n++} $2=="-" {p++} END {print n+0 "/" p+0}'\'')" == 1/1 ]]'
until_ok chrony-nts-untrusted "NTS-KE fails: 0 cookies, nothing selected" \
    '[[ "$(x chrony-nts-untrusted "chronyc -n -c authdata" | awk -F, '\''$2=="NTS" && $9==0 && $7>0'\'' | wc -l)" == 2 ]] &&
     ! x chrony-nts-untrusted "chronyc -n -c sources" | grep -q "^\^,\*"'
until_ok chrony-unreachable "only source time-void, reach 0" \
    '[[ "$(x chrony-unreachable "chronyc -n -c sources")" == "^,?,$(x chrony-unreachable "getent hosts time-void" | cut -d" " -f1),0,"*",0,"* ]]'
until_ok chrony-stock "no usable source (public pool unreachable)" \
    '! x chrony-stock "chronyc -n -c sources" | grep -q "^\^,\*"'
until_ok ntpsec "ntpd has a sys.peer among the lab servers" 'x ntpsec "ntpq -pn" | grep -q "^\*172\."'
until_ok timesyncd "timesyncd talks to nts-server" \
    'x timesyncd "timedatectl show-timesync -p ServerName --value" | grep -qx nts-server &&
     x timesyncd "timedatectl show-timesync -p NTPMessage --value" | grep -q "Stratum=8"'

exit $fail
