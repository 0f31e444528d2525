"""Root of the ``volengine`` console script.

Sub-command groups live in their own modules and are registered here. Heavy imports (numba kernels,
vectorbt, quantstats) happen inside the commands, so ``volengine --help`` and ``--version`` stay fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from volengine import __version__
from volengine.cli.backtest_cmd import backtest
from volengine.cli.bench_cmd import bench_app
from volengine.cli.config_cmd import config_app
from volengine.cli.data_cmd import data_app
from volengine.cli.demo_cmd import demo
from volengine.cli.report_cmd import report_app
from volengine.cli.signal_cmd import signal
from volengine.errors import VolEngineError

app = typer.Typer(
    name="volengine",
    help=("VolEngine: vectorized options-volatility research engine.\n\nExample: volengine demo"),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(config_app, name="config")
app.add_typer(bench_app, name="bench")
app.add_typer(data_app, name="data")
app.add_typer(report_app, name="report")
app.command("demo")(demo)
app.command("signal")(signal)
app.command("backtest")(backtest)

_state = {"debug": False}


def _version_callback(value: bool) -> None:  # noqa: FBT001 - typer passes the flag positionally
    if value:
        typer.echo(f"volengine {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    *,
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    """VolEngine command line. Every command has --help with an example."""
    _state["debug"] = debug


def main() -> None:
    """Console-script entry point: one-line messages for VolEngine errors, exit code 1."""
    try:
        app()
    except VolEngineError as exc:
        if _state["debug"]:
            raise
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)


if __name__ == "__main__":
    main()
