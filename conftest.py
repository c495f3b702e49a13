"""The compliance suite's root. Its plugin is the installed `timesync_audit` (pyproject.toml's
pytest11 entry point, installed by requirements.txt); this file only loads it where the project
was not installed, and says what that costs."""

import importlib.metadata
import warnings


def _installed() -> bool:
    return any(ep.name == "timesync_audit" for ep in importlib.metadata.entry_points(group="pytest11"))


if not _installed():
    warnings.warn(
        "timesync_audit is not installed as a pytest plugin (pip install -r requirements.txt): "
        "write options with '=' (--waivers=FILE), a separate value is taken as a test path",
        stacklevel=1,
    )
    pytest_plugins = ["timesync_audit.plugin"]
