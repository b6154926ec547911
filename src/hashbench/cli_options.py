"""Options several commands share (--devices: scan, bench, verify, run, energy-check; --db: run and the results
commands; the FRACTION type: yield's shares, energy-check's tolerance), and how they end when interrupted."""

from __future__ import annotations

from collections.abc import Callable

import click

from .errors import InputError, interrupt_exit_code
from .units import parse_fraction


class _Fraction(click.ParamType):
    """0.8 or 80%: a share as people write it (click's float refuses the %)."""

    name = "fraction"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        return parse_fraction(value, param.opts[0] if param is not None else "value")  # type: ignore[arg-type]


FRACTION = _Fraction()


def _select(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:  # --devices "" is a mistake to report, not "every GPU"
        from .backends import select_gpus

        select_gpus(value)


def devices_option(command: Callable) -> Callable:
    """--devices 0,2: the GPUs the cuda and pycuda backends hash on (default: every GPU, or HASHBENCH_CUDA_DEVICES).
    Applied while the command line is parsed, so every later use of a GPU backend sees it."""
    return click.option("--devices", default=None, metavar="N[,N...]", expose_value=False, callback=_select,
                        help="GPUs for the cuda/pycuda backends, e.g. 0,2 (default: $HASHBENCH_CUDA_DEVICES, "
                             "else every GPU).")(command)


def _database(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():  # --db "" (an unset shell variable) is a mistake, not "the default"
        raise InputError("--db is empty: give a database URL or an SQLite file path, or leave --db out for the default")
    return value


db_option = click.option("--db", default=None, metavar="URL", callback=_database,
                         help="History database: an SQLAlchemy URL (postgresql://...) or an SQLite file path. "
                              "Default: $HASHBENCH_DB, else history.sqlite in the user data directory.")


def interrupted(stopped: KeyboardInterrupt | None, finished: int) -> int:
    """The exit code once the measurements that finished are printed: 0, or 128 + the signal that stopped the
    command (Ctrl-C keeps finished measurements)."""
    if stopped is None:
        return 0
    click.echo(f"interrupted: {finished} finished measurement(s) kept above", err=True)
    return interrupt_exit_code(stopped)


class CommandGroup(click.Group):
    """A group whose command list gives each command's whole first sentence, wrapped to the terminal, where click
    cuts it at about 45 characters ("Hashrate at a difficulty-1 share target: warm-up, then...")."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
