"""What chrony and ntpd facts share: how the daemon is started."""
from __future__ import annotations


class StartCommands:
    """For facts with `running` [(process, command)] and `configured` (command or None)."""

    @property
    def start_commands(self) -> list:
        """The running daemons' command lines first, then the configured one."""
        found = [cmd for _, cmd in self.running]
        if self.configured:
            found.append(self.configured)
        return found
