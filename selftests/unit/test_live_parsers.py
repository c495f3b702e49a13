"""Parsers of the live-state commands (chronyc -c -n, ntpq -n, timedatectl show) on outputs
recorded from the lab's hosts, and how an unusable command becomes a verdict or an error."""

import pytest
from support import recorded_host, run_rule

from timesync_audit import collector
from timesync_audit.gather.snapshot import CommandOutput
from timesync_audit.parsers import chronyc, ntpq, timedatectl

# --- recorded on the lab's hosts (chrony 4.3, ntpsec 1.2.2, systemd 252, Debian 12) ---
HARDENED_TRACKING = (
    "AC1D490B,172.29.73.11,9,1795335883.371543764,0.000029332,0.000000876,0.000000876,"
    "-0.501,-0.000,14.006,0.000051387,0.000716353,2.0,Normal\n"
)
HARDENED_SOURCES = (
    "^,+,172.29.73.10,8,6,17,47,0.000024016,0.000025071,0.000052743\n"
    "^,*,172.29.73.11,8,6,17,47,-0.000002326,-0.000001450,0.000025876\n"
)
HARDENED_AUTHDATA = "172.29.73.10,NTS,1,15,256,54,0,0,8,100\n172.29.73.11,NTS,1,15,256,54,0,0,8,100\n"
UNSYNC_TRACKING = (
    "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,"
    "1.000000000,1.000000000,0.0,Not synchronised\n"
)
UNTRUSTED_SOURCES = (
    "^,?,172.29.73.10,0,8,0,4294967295,0.000000000,0.000000000,0.000000000\n"
    "^,?,172.29.73.11,0,8,0,4294967295,0.000000000,0.000000000,0.000000000\n"
)
UNTRUSTED_AUTHDATA = "172.29.73.10,NTS,0,0,0,4294967295,1,0,0,0\n172.29.73.11,NTS,0,0,0,4294967295,1,0,0,0\n"
MIXED_SOURCES = (
    "^,*,172.29.73.10,8,6,17,48,-0.000011010,0.000019806,0.000040822\n"
    "^,?,172.29.73.11,8,6,17,50,-0.000037190,-0.000010628,0.000021624\n"
)
MIXED_AUTHDATA = "172.29.73.10,NTS,1,15,256,54,0,0,8,100\n172.29.73.11,-,0,0,0,4294967295,0,0,0,0\n"
UNREACHABLE_SOURCES = "^,?,172.29.73.250,0,7,0,4294967295,0.000000000,0.000000000,0.000000000\n"
LOCAL_TRACKING = (
    "7F7F0101,,8,1795335931.424392213,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,"
    "0.000000000,0.000000000,0.0,Normal\n"
)
CANNOT_TALK = "506 Cannot talk to daemon\n"
NTPSEC_PEERS = """     remote           refid      st t when poll reach   delay   offset   jitter
===============================================================================
*172.29.73.10    127.127.1.1      8 u   48   64    1   0.0872   0.0277   0.0181
-172.29.73.11    127.127.1.1      8 u   47   64    1   0.1450   0.0009   0.0378
"""
NTPSEC_ASSOCIATIONS = """
ind assid status  conf reach auth condition  last_event cnt
===========================================================
  1 17767  b61a   yes   yes  none  sys.peer    sys_peer  1
  2 17768  b314   yes   yes  none   outlier   reachable  1
"""
TIMESYNCD_SHOW = """Timezone=Etc/UTC
LocalRTC=no
CanNTP=yes
NTP=yes
NTPSynchronized=no
TimeUSec=Sun 2026-11-22 08:25:33 UTC
"""
TIMESYNCD_TIMESYNC = """SystemNTPServers=nts-server
FallbackNTPServers=0.debian.pool.ntp.org 1.debian.pool.ntp.org 2.debian.pool.ntp.org 3.debian.pool.ntp.org
ServerName=nts-server
ServerAddress=172.29.73.10
RootDistanceMaxUSec=5s
PollIntervalMinUSec=32s
PollIntervalMaxUSec=34min 8s
PollIntervalUSec=1min 4s
NTPMessage={ Leap=0, Version=4, Mode=4, Stratum=8, Precision=-24, RootDelay=0, RootDispersion=0, Reference=7F7F0101, OriginateTimestamp=Sun 2026-11-22 08:24:29 UTC, ReceiveTimestamp=Sun 2026-11-22 08:24:29 UTC, TransmitTimestamp=Sun 2026-11-22 08:24:29 UTC, DestinationTimestamp=Sun 2026-11-22 08:24:29 UTC, Ignored=no, PacketCount=1, Jitter=0 }
Frequency=0
"""


# --- chronyc tracking ---


def test_tracking_synchronized():
    t = chronyc.parse_tracking(HARDENED_TRACKING)
    assert (t.ref_id, t.ref_name, t.stratum, t.leap_status) == ("AC1D490B", "172.29.73.11", 9, "Normal")
    assert t.system_time == pytest.approx(0.000029332)
    assert t.synchronized and t.not_synchronized_because() == []
    assert t.offset_words() == "0.000029332 s slow of NTP time"


def test_tracking_unsynchronized_reference_unset():
    t = chronyc.parse_tracking(UNSYNC_TRACKING)
    assert not t.reference_set and not t.synchronized
    reasons = " ".join(t.not_synchronized_because())
    assert "'Not synchronised'" in reasons and "00000000" in reasons and "stratum 0" in reasons


def test_tracking_local_reference_is_not_a_source():
    t = chronyc.parse_tracking(LOCAL_TRACKING)
    assert t.reference_set and t.local_reference and not t.synchronized
    assert "local" in t.not_synchronized_because()[0]


def test_tracking_negative_offset_is_fast():
    t = chronyc.parse_tracking(HARDENED_TRACKING.replace(",0.000029332,", ",-1.250000000,"))
    assert t.system_time == -1.25 and t.offset_words() == "1.250000000 s fast of NTP time"


def test_tracking_leap_second_announced_is_synchronized():
    assert chronyc.parse_tracking(HARDENED_TRACKING.replace("Normal", "Insert second")).synchronized


@pytest.mark.parametrize(
    "text", ["", CANNOT_TALK, "AC1D490B,x,9\n", HARDENED_TRACKING * 2, HARDENED_TRACKING.replace(",9,", ",nine,")]
)
def test_tracking_unexpected_output(text):
    with pytest.raises(chronyc.ParseError):
        chronyc.parse_tracking(text)


# --- chronyc sources ---


def test_sources_reach_is_octal():
    s = chronyc.parse_sources(HARDENED_SOURCES)
    assert [x.address for x in s] == ["172.29.73.10", "172.29.73.11"]
    assert [x.reach for x in s] == [0o17, 0o17] == [15, 15]
    assert [x.selected for x in s] == [False, True]
    assert s[1].describe() == "^* 172.29.73.11: reach 17, state * (selected)"
    assert chronyc.parse_sources("^,*,10.0.0.1,2,6,377,1,0,0,0\n")[0].reach == 255


def test_sources_unreachable():
    s = chronyc.parse_sources(UNTRUSTED_SOURCES)
    assert all(x.reach == 0 and x.state == "?" and x.last_rx == chronyc.NEVER for x in s)
    assert "reach 0, state ? (unusable)" in s[0].describe()


def test_sources_none_and_bad():
    assert chronyc.parse_sources("") == []
    with pytest.raises(chronyc.ParseError):
        chronyc.parse_sources("^,*,10.0.0.1,2,6,389,1,0,0,0\n")  # 9 is not an octal digit
    with pytest.raises(chronyc.ParseError):
        chronyc.parse_sources("MS Name/IP address\n")


# --- chronyc authdata ---


def test_authdata_nts_with_cookies():
    a = chronyc.parse_authdata(HARDENED_AUTHDATA)
    assert all(e.nts and e.authenticated and not e.ke_failed and e.cookies == 8 for e in a)
    assert a[0].describe().startswith("172.29.73.10: NTS, 8 cookies, last NTS-KE 54 s ago")


def test_authdata_nts_without_cookies_is_a_failed_ke():
    a = chronyc.parse_authdata(UNTRUSTED_AUTHDATA)
    assert all(e.nts and not e.authenticated and e.ke_failed and e.last_text == "never" for e in a)
    assert a[0].attempts == 1


def test_authdata_mixed():
    a = chronyc.parse_authdata(MIXED_AUTHDATA)
    assert [(e.address, e.mode, e.authenticated) for e in a] == [
        ("172.29.73.10", "NTS", True),
        ("172.29.73.11", "-", False),
    ]
    assert a[1].describe() == "172.29.73.11: not authenticated (mode -)"


def test_reply_error():
    assert chronyc.reply_error(CANNOT_TALK) == "506 Cannot talk to daemon"
    assert chronyc.reply_error("501 Not authorised\n") == "501 Not authorised"
    assert chronyc.reply_error(HARDENED_TRACKING) is None


# --- ntpq ---


def test_ntpq_peers_system_peer():
    peers = ntpq.parse_peers(NTPSEC_PEERS)
    assert [(p.tally, p.remote, p.stratum, p.reach) for p in peers] == [
        ("*", "172.29.73.10", 8, "1"),
        ("-", "172.29.73.11", 8, "1"),
    ]
    assert [p.system_peer for p in peers] == [True, False]
    assert "172.29.73.10 (system peer)" in peers[0].describe()


def test_ntpq_peers_without_system_peer_and_wrapped_address():
    text = (
        NTPSEC_PEERS.replace("*172.29.73.10", "+172.29.73.10")
        + " 2001:db8::1234:5678:9abc\n                 .INIT.          16 u    -   64    0   0.0000   0.0000   0.0000\n"
    )
    peers = ntpq.parse_peers(text)
    assert not any(p.system_peer for p in peers)
    assert (peers[2].tally, peers[2].remote, peers[2].refid, peers[2].stratum) == (
        " ",
        "2001:db8::1234:5678:9abc",
        ".INIT.",
        16,
    )


@pytest.mark.parametrize(
    "text", ["ntpq: read: Connection refused\n", "localhost: timed out, nothing received\n***Request timed out\n", ""]
)
def test_ntpq_no_answer(text):
    with pytest.raises(ntpq.ParseError):
        ntpq.parse_peers(text)
    with pytest.raises(ntpq.ParseError):
        ntpq.parse_associations(text)


def test_ntpq_no_association():
    assert ntpq.parse_peers("No association ID's returned\n") == []
    assert ntpq.parse_associations("No association ID's returned\n") == []


def test_ntpq_associations():
    a = ntpq.parse_associations(NTPSEC_ASSOCIATIONS)
    assert [(x.assid, x.auth, x.condition, x.system_peer) for x in a] == [
        (17767, "none", "sys.peer", True),
        (17768, "none", "outlier", False),
    ]
    classic = NTPSEC_ASSOCIATIONS.replace("b61a   yes   yes  none", "f63a   yes   yes    ok").replace(
        "reachable  1", "          1"
    )
    a = ntpq.parse_associations(classic)
    assert a[0].authenticated and a[1].last_event == "" and a[1].count == "1"


# --- timedatectl ---


def test_timedatectl_not_synchronized_although_a_server_is_in_use():
    show, timesync = timedatectl.parse_show(TIMESYNCD_SHOW), timedatectl.parse_timesync(TIMESYNCD_TIMESYNC)
    assert show.ntp_synchronized is False and show.properties["NTP"] == "yes"
    assert timesync.server_in_use and (timesync.server_name, timesync.server_address) == ("nts-server", "172.29.73.10")
    assert timesync.describe() == "server in use nts-server (172.29.73.10); configured: nts-server"


def test_timedatectl_synchronized():
    show = timedatectl.parse_show(TIMESYNCD_SHOW.replace("NTPSynchronized=no", "NTPSynchronized=yes"))
    assert show.ntp_synchronized is True


def test_timedatectl_no_server_and_failures():
    timesync = timedatectl.parse_timesync("SystemNTPServers=\nServerName=\nServerAddress=\n")
    assert not timesync.server_in_use
    with pytest.raises(timedatectl.ParseError):
        timedatectl.parse_show("System has not been booted with systemd as init system (PID 1). Can't operate.\n")
    with pytest.raises(timedatectl.ParseError):
        timedatectl.parse_timesync("Failed to query server: Unit dbus-org.freedesktop.timesync1.service not found.\n")


# --- live state in the facts: verdicts and errors from real exit statuses ---

CHRONY_LIVE = {
    "chronyc_tracking": HARDENED_TRACKING,
    "chronyc_sources": HARDENED_SOURCES,
    "chronyc_authdata": HARDENED_AUTHDATA,
}


def _host(layout, outputs, rc=0, **commands):
    host = recorded_host(layout, commands={k: v for k, v in commands.items()})
    for name, text in outputs.items():
        host.commands[name] = CommandOutput(name, rc, text)
    return host


def test_chrony_live_state_in_facts():
    gathered = collector.collect(_host("debian12-chrony", CHRONY_LIVE).execute)
    live = gathered.chrony.live
    assert not live.unavailable
    assert live.answers["chronyc_tracking"].synchronized and len(live.answers["chronyc_sources"]) == 2
    assert gathered.round_trips == 1  # the live commands join the first round trip


def test_chronyc_as_non_root_is_an_error_with_exit_status_1():
    outputs = {name: CANNOT_TALK for name in CHRONY_LIVE}
    host = _host("debian12-chrony", outputs, rc=1, identity="1000\nauditor\n")
    for rule_id in ("chrony_synchronized", "chrony_sources_reachable", "chrony_nts_authenticated"):
        outcome = run_rule(rule_id, host)
        assert outcome.status == "error", outcome
        assert "506 Cannot talk to daemon" in outcome.message and "uid 1000" in outcome.message
        assert "--sudo" in outcome.message


def test_chronyd_not_running_fails_with_exit_status_1():
    outputs = {name: CANNOT_TALK for name in CHRONY_LIVE}
    host = _host("debian12-chrony", outputs, rc=1, processes="")
    outcome = run_rule("chrony_synchronized", host)
    assert outcome.status == "failed" and "not synchronized: chronyd is not running" in outcome.message


def test_not_authorised_authdata_as_root_with_chronyd_running_is_an_error():
    host = _host("debian12-chrony", {"chronyc_authdata": "501 Not authorised\n"}, rc=1)
    for name in ("chronyc_tracking", "chronyc_sources"):
        host.commands[name] = CommandOutput(name, 0, CHRONY_LIVE[name])
    assert run_rule("chrony_synchronized", host).status == "passed"
    outcome = run_rule("chrony_nts_authenticated", host)
    assert outcome.status == "error" and "501 Not authorised" in outcome.message
    assert "chronyd is running (pid 735)" in outcome.message


def test_ntpq_timeout_is_an_error():
    host = _host("debian12-ntpsec", {"ntpq_peers": "", "ntpq_associations": ""}, rc=124)
    outcome = run_rule("ntpd_synchronized", host)
    assert outcome.status == "error" and "timed out" in outcome.message


def test_chronyc_without_authdata_is_an_error_not_blamed_on_chronyd():
    host = _host("debian12-chrony", {"chronyc_authdata": "Unrecognized command\n"}, rc=1)
    outcome = run_rule("chrony_nts_authenticated", host)
    assert outcome.status == "error"
    assert "(exit status 1: Unrecognized command); is chronyc too old for this query?" in outcome.message
    assert "is running" not in outcome.message
