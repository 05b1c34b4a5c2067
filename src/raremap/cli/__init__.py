"""The `raremap` command line: a thin shell over the Python API.

Errors a person can fix print as red lines and exit with status 1; a mistyped command or option
prints the usual usage message with the closest match and exits with status 2; the traceback
appears only with `--debug`. Each command family lives in its own module and registers itself on
`app`. Messages are printed as plain text: a value such as `Nd:x:` or `[bold]` is never turned
into an emoji or a style.
"""

from __future__ import annotations

import re
import sys

import typer
from rich.console import Console

from raremap.errors import ConsistencyError, RaremapError
from raremap.suggestions import closest

app = typer.Typer(
    name="raremap",
    help="Rare-earth supply-chain strategy: sourced data, metrics, shocks, risk and plans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
error_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False, markup=False)
SHOWN_PROBLEMS = 200
"""A dataset with more problems lists the first ones and says how many more: fixing the first
often fixes many (a wrong column, a shifted row), and a terminal of 40,000 lines helps no one."""
UNKNOWN_COMMAND = re.compile(r"No such command '(?P<name>.*)'")


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
        for problem in error.problems[:SHOWN_PROBLEMS]:
            error_console.print(f"  {problem}", style="red")
        if count > SHOWN_PROBLEMS:
            error_console.print(
                f"  ... and {count - SHOWN_PROBLEMS:,} more; fix these and validate again", style="red"
            )
    else:
        error_console.print(f"error: {error}", style="red")


def _with_suggestion(error: typer.TyperException) -> typer.TyperException:
    """A usage error for an unknown command, with the closest command named (as click does for options)."""
    match = UNKNOWN_COMMAND.match(getattr(error, "message", ""))
    context = getattr(error, "ctx", None)
    if match is None or context is None:
        return error
    suggestion = closest(match["name"], context.command.list_commands(context))
    if suggestion is not None:
        error.message = f"{error.message} Did you mean '{suggestion}'?"
    return error


def _output_error(error: OSError) -> str:
    """An operating-system error on a file the command writes or reads, with the path and what to do."""
    where = f" {error.filename}" if error.filename else ""
    reason = error.strerror or str(error)
    return f"cannot use{where}: {reason}; check the path, its permissions and the free space on its disk"


def main(arguments: list[str] | None = None) -> None:
    """Entry point of the `raremap` script."""
    arguments = sys.argv[1:] if arguments is None else arguments
    debug = "--debug" in arguments
    _register_commands()
    try:
        app(args=arguments, prog_name="raremap", standalone_mode=False)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        error_console.print("aborted", style="red")
        sys.exit(130)
    except typer.TyperException as error:
        shown = _with_suggestion(error)
        show = getattr(shown, "show", None)
        if callable(show):
            show()
        else:
            error_console.print(f"error: {shown.message}", style="red")
        sys.exit(shown.exit_code)
    except RaremapError as error:
        if debug:
            raise
        _print_error(error)
        sys.exit(1)
    except OSError as error:
        if debug:
            raise
        error_console.print(f"error: {_output_error(error)}", style="red")
        sys.exit(1)
    except Exception as error:
        if debug:
            raise
        error_console.print(
            f"internal error: {type(error).__name__}: {error} (run with --debug for the traceback and report it)",
            style="red",
        )
        sys.exit(2)
