"""``volengine config ...``: show the effective configuration and validate config files."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from volengine.errors import ConfigError

config_app = typer.Typer(
    help="Show and validate configuration.\n\nExample: volengine config validate my-settings.yaml",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings YAML merged over the packaged defaults.", show_default=False),
]
UniverseOption = Annotated[
    Path | None,
    typer.Option("--universe", "-u", help="Universe YAML merged over the packaged one.", show_default=False),
]


class OutputFormat(StrEnum):
    """Output formats of ``config show``."""

    YAML = "yaml"
    JSON = "json"


@config_app.command("show")
def show(
    config: ConfigOption = None,
    universe: UniverseOption = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.YAML,
) -> None:
    """Print the effective settings and universe (packaged defaults, then the files, then VOLENGINE_* vars).

    Example: volengine config show --config settings.yaml --format json
    """
    import yaml

    from volengine.config import load_settings, load_universe, settings_fingerprint

    settings = load_settings(config)
    symbols = load_universe(universe)
    document = {"settings": settings.model_dump(mode="json"), "universe": symbols.model_dump(mode="json")}
    if output_format is OutputFormat.JSON:
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(f"# settings fingerprint: {settings_fingerprint(settings)}")
        typer.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)


@config_app.command("validate")
def validate(
    file: Annotated[
        Path | None, typer.Argument(help="Settings YAML to check.", metavar="FILE", show_default=False)
    ] = None,
    universe: UniverseOption = None,
) -> None:
    """Check a settings file and/or a universe file; print OK or every problem, one per line (exit 1).

    Environment overrides are not applied: the files are checked as written.

    Example: volengine config validate settings.yaml -u universe.yaml
    """
    if file is None and universe is None:
        msg = "give a settings FILE, --universe PATH, or both"
        raise typer.BadParameter(msg)
    from volengine.config import load_settings, load_universe

    checks = [(path, loader) for path, loader in ((file, load_settings), (universe, load_universe)) if path]
    problems: list[str] = []
    for path, loader in checks:
        try:
            loader(path, env={})
        except ConfigError as exc:
            problems.extend(exc.problems)
        else:
            typer.echo(f"OK: {path}")
    if problems:
        for line in problems:
            typer.echo(line, err=True)
        raise typer.Exit(code=1)
