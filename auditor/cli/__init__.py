"""The `vt-audit` command: its parser, one api call per command, its French messages, its process."""
