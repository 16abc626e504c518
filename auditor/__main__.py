from .cli.launch import entry_point

entry_point()
