"""``volengine data ...``: import vendor files, generate the synthetic market, check data quality."""

from __future__ import annotations

import typer

from volengine.cli.data_check_cmd import check
from volengine.cli.data_generate_cmd import generate
from volengine.cli.data_import_cmd import import_files

data_app = typer.Typer(
    help="Market data: import vendor files, generate the synthetic market, check quality.\n\n"
    "Example: volengine data generate --underlyings SPY --years 2 --store ./store",
    no_args_is_help=True,
)
data_app.command("import")(import_files)
data_app.command("generate")(generate)
data_app.command("check")(check)
