"""A pytest plugin for the suite under test (`-p paramiko_trace`): records every byte paramiko hands
to the suite from a channel, so that a test can prove what the paramiko:// transport carried back.

`TSA_PARAMIKO_TRACE_DIR` names a directory; each process (the controller, each xdist worker)
appends to its own file there: `recv.<pid>` (Channel.recv) and `recv_stderr.<pid>`
(Channel.recv_stderr). Without the variable the plugin does nothing.
"""

import functools
import os

import paramiko

_DIR = os.environ.get("TSA_PARAMIKO_TRACE_DIR")


def _traced(method, stream: str):
    @functools.wraps(method)
    def recv(self, nbytes):
        data = method(self, nbytes)
        if data:
            with open(os.path.join(_DIR, f"{stream}.{os.getpid()}"), "ab") as trace:
                trace.write(data)
        return data

    recv.__tsa_traced__ = True
    return recv


def pytest_configure(config):
    if not _DIR or getattr(paramiko.Channel.recv, "__tsa_traced__", False):
        return
    paramiko.Channel.recv = _traced(paramiko.Channel.recv, "recv")
    paramiko.Channel.recv_stderr = _traced(paramiko.Channel.recv_stderr, "recv_stderr")
