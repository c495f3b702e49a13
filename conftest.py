"""Entry point of the compliance suite: loads the plugin that gathers facts once per host."""
pytest_plugins = ["timesync_audit.plugin"]
