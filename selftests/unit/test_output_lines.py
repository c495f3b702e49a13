"""What a host prints is split into lines at newlines only (parsers/lines.py): str.splitlines also
ends a line at characters a host can put inside one field, and the rest would pass for a line."""

import pytest

from timesync_audit.facts import access, host
from timesync_audit.parsers import chronyc, ntpq, timedatectl
from timesync_audit.parsers.lines import lines

# every character str.splitlines ends a line at, beside \n
NOT_NEWLINES = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", NOT_NEWLINES)
def test_only_a_newline_ends_a_line(char):
    assert f"a{char}b\nc\n".splitlines() != ["a" + char + "b", "c"]  # what the helper is for
    assert lines(f"a{char}b\nc\n") == [f"a{char}b", "c"]


def test_lines_end_as_splitlines_ends_them():
    for text in ("", "\n", "a", "a\n", "a\n\nb", "a\nb\n\n"):
        assert lines(text) == text.splitlines()


@pytest.mark.parametrize("char", NOT_NEWLINES)
def test_an_ntp_servers_refid_cannot_make_a_peer(char):
    """A stratum-1 server names its own refid: four bytes it chooses, inside one peers line."""
    text = (
        "     remote           refid      st t when poll reach   delay   offset   jitter\n"
        "===============================================================================\n"
        f"-172.29.73.11    .G{char}*1.      1 u   47   64    1   0.1450   0.0009   0.0378\n"
    )
    try:
        peers = ntpq.parse_peers(text)
    except ntpq.ParseError:
        return  # a field ntpq's columns cannot hold: could not check, never a second peer
    assert [p.tally for p in peers] == ["-"]


@pytest.mark.parametrize("char", NOT_NEWLINES)
def test_a_passwd_field_cannot_add_an_account(char):
    forged = f"_chrony:x:100:101:Chrony daemon{char}ntpsec:x:0:0::/:/bin/sh:/var/lib/chrony:/usr/sbin/nologin\t101\n"
    accounts = access.parse_accounts(forged)
    assert list(accounts) == ["_chrony"] and accounts["_chrony"].uid == 100


@pytest.mark.parametrize("char", ["\x1c", "\x85", "\u2028"])
def test_the_other_command_parsers_split_at_newlines_only(char):
    sources = f"^,*,10.0.0.1{char}^,*,10.0.0.2,2,6,377,12,0.000001,0.000001,0.000010\n"
    with pytest.raises(chronyc.ParseError):
        chronyc.parse_sources(sources)  # one malformed line, not two sources
    assert timedatectl.parse_properties(f"ServerName=a{char}NTPMessage=x\n") == {"ServerName": f"a{char}NTPMessage=x"}
    packages = host.parse_packages(f"dpkg\tchrony\tii \t4.3{char}dpkg\tntpsec\tii \t1.2\n")
    assert "ntpsec" not in packages
