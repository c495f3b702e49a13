# lab/lib/table.sh - the lab's hosts (lab/hosts.txt) and inventory groups (lab/groups.txt), read
# into arrays. Sourced by lab.sh and check.sh; needs LAB_DIR. Nothing here touches the machine.
# shellcheck shell=bash disable=SC2034  # the arrays are read by the scripts that source this file

HOST_TABLE="$LAB_DIR/hosts.txt"
GROUP_TABLE="$LAB_DIR/groups.txt"

TABLE_HOSTS=()                 # host names, in table order
# per host; the optional columns hold "" for `-`, ready holds "<unit>=active" for `-`
declare -A HOST_OCTET=() HOST_IMAGE=() HOST_UNIT=() HOST_GROUPS=() HOST_NTS=() HOST_READY=() \
    HOST_ETC_HOSTS=() HOST_VARS=() HOST_STATE=()
TABLE_GROUPS=()                # group names, in table order (all first)
declare -A GROUP_VARS=() GROUP_ABOUT=()

table_error() { echo "$1:$2: $3" >&2; return 1; }   # table_error FILE LINE MESSAGE
optional() { [[ "$1" == - ]] || echo "$1"; }

read_group_table() {
    local line n=0 group vars about
    while IFS= read -r line || [[ -n "$line" ]]; do
        n=$((n + 1))
        [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
        read -r group vars about <<<"$line"
        [[ -n "$about" ]] || { table_error lab/groups.txt "$n" "expected 3 columns: group vars about"; return 1; }
        [[ -z "${GROUP_ABOUT[$group]+set}" ]] || { table_error lab/groups.txt "$n" "group $group listed twice"; return 1; }
        TABLE_GROUPS+=("$group")
        GROUP_VARS[$group]="$(optional "$vars")"
        GROUP_ABOUT[$group]="$about"
    done <"$GROUP_TABLE"
    [[ "${TABLE_GROUPS[0]:-}" == all ]] || { table_error lab/groups.txt 1 "the first group must be all"; return 1; }
}

read_host_table() {
    local line n=0 host octet image unit groups nts ready etc_hosts vars state g octets=" "
    while IFS= read -r line || [[ -n "$line" ]]; do
        n=$((n + 1))
        [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
        read -r host octet image unit groups nts ready etc_hosts vars state <<<"$line"
        [[ -n "$state" ]] || { table_error lab/hosts.txt "$n" "expected 10 columns (see the header)"; return 1; }
        [[ "$host" =~ ^[a-z0-9][a-z0-9-]*$ ]] || { table_error lab/hosts.txt "$n" "host '$host': [a-z0-9-] only"; return 1; }
        [[ -z "${HOST_OCTET[$host]+set}" ]] || { table_error lab/hosts.txt "$n" "host $host listed twice"; return 1; }
        if ! [[ "$octet" =~ ^[1-9][0-9]{0,2}$ ]] || ((octet < 2 || octet > 254)); then
            table_error lab/hosts.txt "$n" "octet '$octet': 2-254"; return 1
        fi
        [[ "$octets" != *" $octet "* ]] || { table_error lab/hosts.txt "$n" "octet $octet taken twice"; return 1; }
        [[ "$nts" =~ ^(server|ca|rogue-ca|-)$ ]] || { table_error lab/hosts.txt "$n" "nts '$nts': server, ca, rogue-ca or -"; return 1; }
        [[ "$ready" == - || "$ready" =~ ^([a-z0-9@._-]+=(active|failed))(,[a-z0-9@._-]+=(active|failed))*$ ]] ||
            { table_error lab/hosts.txt "$n" "ready '$ready': unit=active|failed,..."; return 1; }
        [[ "$etc_hosts" == - || "$etc_hosts" =~ ^([a-z0-9.-]+=[1-9][0-9]*)(,[a-z0-9.-]+=[1-9][0-9]*)*$ ]] ||
            { table_error lab/hosts.txt "$n" "etc-hosts '$etc_hosts': name=octet,..."; return 1; }
        for g in ${groups//,/ }; do
            if [[ -z "${GROUP_ABOUT[$g]+set}" || "$g" == all ]]; then
                table_error lab/hosts.txt "$n" "group '$g' is not in lab/groups.txt"; return 1
            fi
        done
        octets+="$octet "
        TABLE_HOSTS+=("$host")
        HOST_OCTET[$host]="$octet"
        HOST_IMAGE[$host]="$image"
        HOST_UNIT[$host]="$unit"
        HOST_GROUPS[$host]="$groups"
        HOST_NTS[$host]="$(optional "$nts")"
        if [[ "$ready" == - ]]; then HOST_READY[$host]="$unit=active"; else HOST_READY[$host]="$ready"; fi
        HOST_ETC_HOSTS[$host]="$(optional "$etc_hosts")"
        HOST_VARS[$host]="$(optional "$vars")"
        HOST_STATE[$host]="$state"
    done <"$HOST_TABLE"
    ((${#TABLE_HOSTS[@]})) || { table_error lab/hosts.txt "$n" "no host"; return 1; }
}

# read_tables: both tables, or a message on stderr and status 1
read_tables() { read_group_table && read_host_table; }

in_group() { [[ ",${HOST_GROUPS[$1]}," == *",$2,"* ]]; }   # in_group HOST GROUP
