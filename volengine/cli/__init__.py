"""The ``volengine`` command line (typer). Commands parse, load config, call one pipeline function, print."""
