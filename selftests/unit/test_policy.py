"""Policy values: defaults, overrides, and one precise message per bad input."""

import pytest

from timesync_audit.policy import PolicyError, default_policy, parse_assignments


def test_defaults_are_ssg_defaults():
    p = default_policy()
    assert p.maxpoll_max == 10 and p.min_sources == 2 and p.require_nts is True
    assert p.approved_servers == ("0.pool.ntp.org", "1.pool.ntp.org", "2.pool.ntp.org", "3.pool.ntp.org")
    assert p.max_offset == 0.5 and p.makestep_threshold_max == 1.0 and p.makestep_limit is None
    assert p.time_service is None


def test_overrides_convert_and_remember_their_origin():
    p = default_policy().with_overrides(
        parse_assignments(
            [
                "maxpoll_max=16",
                "require_nts=false",
                "approved_servers=a.example,B.example.",
                "time_service=chrony",
                "makestep_limit=-1",
            ],
            "--policy",
        ),
        "--policy",
    )
    assert p.maxpoll_max == 16 and p.require_nts is False and p.makestep_limit == -1
    assert p.approved_servers == ("a.example", "b.example") and p.time_service == "chronyd"
    assert p.describe("maxpoll_max") == "maxpoll_max=16 (--policy)"


@pytest.mark.parametrize(
    "item, message",
    [
        ("maxpol_max=16", "unknown policy key 'maxpol_max'"),
        ("maxpoll_max=ten", "policy key 'maxpoll_max': expected an integer"),
        ("maxpoll_max=99", "must be between 0 and 24"),
        ("maxpoll_max=-1", "must be between 0 and 24 (log2 seconds"),
        ("approved_servers=", "must name at least one host"),
        ("root_distance_max_sec=0", "must be above 0 and at most 86400 (timesyncd never synchronizes"),
        ("min_sources=0", "must be between 1 and 64"),
        ("require_nts=maybe", "expected true or false"),
        ("max_offset=nan", "expected a finite number"),
        ("time_service=openntpd", "expected one of chronyd, ntpd, systemd-timesyncd"),
        ("maxpoll_max", "expected KEY=VALUE"),
    ],
)
def test_bad_values_get_one_precise_message(item, message):
    with pytest.raises(PolicyError) as exc:
        parse_assignments([item], "--policy")
    assert message in str(exc.value) and str(exc.value).startswith("--policy: ")
