"""Two lab instances side by side on one docker engine (lab/README.md, "Instances").

While the session's instance runs, a second, small one (two hosts, its own run id) is started:
both answer, each under its own names (containers, network, subnet, run dir) with the same bare
host names; then the second is stopped, and it leaves nothing behind (containers, network,
bridge, firewall chain, run dir) while the first's containers, network and chain are exactly
as they were, and still answer.
"""

import secrets
import shlex
import subprocess

import pytest
from runner import INSTANCE, Instance, run_suite

pytestmark = pytest.mark.e2e

#: a server and a client that asks it by name (timesyncd: NTP=nts-server)
HOSTS = ("nts-server", "timesyncd")


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def _out(*argv: str) -> str:
    done = _run(*argv)
    assert done.returncode == 0, f"{shlex.join(argv)}: {done.stderr.strip()}"
    return done.stdout.strip()


def _state(instance: Instance) -> dict:
    """What the engine and the firewall hold for an instance."""
    containers = _run("docker", "ps", "-aq", "--no-trunc", "--filter", f"label={instance.label}").stdout.split()
    by_name = _run("docker", "ps", "-aq", "--filter", f"name=^{instance.container_prefix}").stdout.split()
    detail = (
        _run(
            "docker",
            "inspect",
            "-f",
            "{{.Id}} {{.Name}} {{.State.Status}} {{.State.StartedAt}} {{.Config.Hostname}}",
            *containers,
        ).stdout.splitlines()
        if containers
        else []
    )
    network = _run(
        "docker", "network", "inspect", "-f", "{{.Id}} {{range .IPAM.Config}}{{.Subnet}}{{end}}", instance.network
    )
    return {
        "containers": sorted(detail),
        "by_name": sorted(by_name),
        "network": network.stdout.strip() if network.returncode == 0 else None,
        "bridge": _run("ip", "link", "show", instance.bridge).returncode == 0,
        "chain": tuple(_run(ipt, "-w", "-S", instance.chain).stdout for ipt in ("iptables", "ip6tables")),
        "jump": f"-j {instance.chain}" in _run("iptables", "-w", "-S", "INPUT").stdout,
        "run_dir": instance.run_dir.exists(),
    }


def _ssh(instance: Instance, host: str, command: str) -> str:
    return _out("ssh", "-F", str(instance.ssh_config), "-o", "ControlPath=none", host, command)


def _docker(instance: Instance, host: str, command: str) -> str:
    return _out(*instance.exec_argv(host, command))


def _address(instance: Instance, host: str) -> str:
    """The address the instance's ssh_config gives a host name."""
    config = _out("ssh", "-G", "-F", str(instance.ssh_config), host)
    return next(line.split()[1] for line in config.splitlines() if line.startswith("hostname "))


def _lab_env(instance: Instance) -> dict:
    out = instance.lab_sh("env").stdout
    return {k: shlex.split(v)[0] if v else "" for k, _, v in (line.partition("=") for line in out.splitlines())}


def test_a_second_instance_runs_beside_the_first_and_leaves_nothing(lab, tmp_path):
    other = Instance("t" + secrets.token_hex(3)[:5])
    assert other.id != INSTANCE.id and not other.run_dir.exists()
    first_before = _state(INSTANCE)
    assert first_before["network"] and first_before["jump"] and len(first_before["containers"]) == len(INSTANCE.hosts())

    started = other.lab_sh("start", hosts=HOSTS, timeout=600)
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        # its own names, as lab.sh says and as runner.Instance says
        env = _lab_env(other)
        assert (
            env["TSA_LAB_ID"],
            env["TSA_LAB_RUN_DIR"],
            env["TSA_LAB_NETWORK"],
            env["TSA_LAB_BRIDGE"],
            env["TSA_LAB_CHAIN"],
            env["TSA_LAB_LABEL"],
            env["TSA_LAB_CONTAINER_PREFIX"],
        ) == (
            other.id,
            str(other.run_dir),
            other.network,
            other.bridge,
            other.chain,
            other.label,
            other.container_prefix,
        )
        assert other.hosts() == list(HOSTS)
        names = _out("docker", "ps", "--filter", f"label={other.label}", "--format", "{{.Names}}").split()
        assert sorted(names) == sorted(other.container(h) for h in HOSTS)
        first_net, second_net = first_before["network"].split()[1], _state(other)["network"].split()[1]
        assert first_net != second_net and env["TSA_LAB_PREFIX"] + ".0/24" == second_net

        # both answer, under the same bare host names (hostname, ssh alias), each at its own address
        for instance in (INSTANCE, other):
            for host in HOSTS:
                assert _docker(instance, host, "hostname") == host
                assert _ssh(instance, host, "hostname") == host
        assert _address(INSTANCE, "timesyncd") != _address(other, "timesyncd")
        assert _address(other, "timesyncd").startswith(env["TSA_LAB_PREFIX"] + ".")
        # each instance's targets find their own server by name (docker's DNS on their own network)
        for instance in (INSTANCE, other):
            assert _docker(instance, "timesyncd", "getent hosts nts-server").split()[0] == _address(
                instance, "nts-server"
            )

        # the suite over docker:// on the second instance: container names in, bare names out
        run = run_suite("docker", ["timesyncd"], tmp_path, ["--policy", "approved_servers=nts-server"], instance=other)
        gathered = [v for (host, _), v in run.verdicts.items() if host == "timesyncd"]
        assert gathered and {host for host, _ in run.verdicts} == {"timesyncd"}, run.output[-2000:]
        assert all(v.properties["host"] == f"docker://{other.container('timesyncd')}" for v in gathered)
        assert any(v.outcome == "passed" for v in gathered), run.output[-2000:]  # reached and judged
        assert not [v for v in gathered if "No such container" in v.message]
    finally:
        stopped = other.lab_sh("stop", timeout=300)
    assert stopped.returncode == 0, stopped.stderr[-3000:]

    # the second left nothing
    assert _state(other) == {
        "containers": [],
        "by_name": [],
        "network": None,
        "bridge": False,
        "chain": ("", ""),
        "jump": False,
        "run_dir": False,
    }
    # the first is exactly as it was (same containers, same start times, same network and chain) and works
    assert _state(INSTANCE) == first_before
    for host in HOSTS:
        assert _ssh(INSTANCE, host, "hostname") == host
    assert _docker(INSTANCE, "timesyncd", "getent hosts nts-server").split()[0] == _address(INSTANCE, "nts-server")
