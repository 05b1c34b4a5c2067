"""The `raremap` command line: a thin shell over the Python API.

Errors a person can fix print as red lines and exit with status 1; the traceback appears only
with `--debug`. Each command family lives in its own module and registers itself on `app`.
"""

from __future__ import annotations

import sys

import click
import typer
from rich.console import Console

from raremap.errors import ConsistencyError, RaremapError

app = typer.Typer(
    name="raremap",
    help="Rare-earth supply-chain strategy: sourced data, metrics, shocks, risk and plans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
error_console = Console(stderr=True, highlight=False, soft_wrap=True)


@app.callback()
def options(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """raremap: rare-earth supply chains as numbers you can trace to a source."""


def _register_commands() -> None:
    """Import every module of this package: each adds its commands to `app` when imported."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if module.name != "output":
            importlib.import_module(f"{__name__}.{module.name}")


def _print_error(error: BaseException) -> None:
    if isinstance(error, ConsistencyError):
        count = len(error.problems)
        error_console.print(f"error: {count} problem{'s' if count != 1 else ''} in the dataset:", style="red")
        for problem in error.problems:
            error_console.print(f"  {problem}", style="red", markup=False)
    else:
        error_console.print(f"error: {error}", style="red", markup=False)


def main(arguments: list[str] | None = None) -> None:
    """Entry point of the `raremap` script."""
    arguments = sys.argv[1:] if arguments is None else arguments
    debug = "--debug" in arguments
    _register_commands()
    try:
        app(args=arguments, prog_name="raremap", standalone_mode=False)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        error_console.print("aborted", style="red")
        sys.exit(130)
    except RaremapError as error:
        if debug:
            raise
        _print_error(error)
        sys.exit(1)
    except Exception as error:
        if debug:
            raise
        error_console.print(
            f"internal error: {type(error).__name__}: {error} (run with --debug for the traceback and report it)",
            style="red",
            markup=False,
        )
        sys.exit(2)
