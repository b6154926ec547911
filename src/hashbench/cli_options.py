"""Options several commands share (--devices: scan, bench, verify, run, energy-check; --db: run and the results
commands; the types that read figures as people write them: watts, hashrates, prices, shares), and how they end when
interrupted."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from typing import Any

import click

from .errors import InputError, interrupt_exit_code
from .units import parse_count, parse_fraction, parse_power_price, parse_si


class _Parsed(click.ParamType):
    """A value as people write it, read by one of hashbench's parsers (units.py), its error naming the flag: the
    same reading on every command (and in site files, for the shares and the power price they take as text)."""

    def __init__(self, name: str, parse: Callable[[str, str], Any]) -> None:
        self.name, self.parse = name, parse

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self.parse(value, param.opts[0] if param is not None else "value")  # type: ignore[arg-type]
        except InputError as exc:  # a usage error (exit 2) in any click command; the message already names the flag
            raise click.UsageError(str(exc), ctx) from None


def _read_list(item: _Parsed, text: str, flag: str) -> tuple:
    """Comma-separated values of `item`'s kind (60k,90k). In a list the comma separates, so a value written with
    thousands commas (60,000,90,000) is refused, not read as 60, 0, 90, 0."""
    items = [v.strip() for v in str(text).split(",") if v.strip()]
    if not items:
        raise InputError(f"{flag}: give one or more values separated by commas")
    for before, after in itertools.pairwise(items):  # 60 then 000: a number's head, then a group of three digits
        if re.fullmatch(r"\$?[+-]?[0-9]{1,3}", before) and re.match(r"[0-9]{3}(?![0-9])", after):
            raise InputError(f"{flag}: {str(text).strip()!r}: here a comma separates values; write each without "
                             f"thousands commas (60000 or 60k)")
    return tuple(item.parse(v, flag) for v in items)


def _quantity(name: str, *units: str) -> _Parsed:
    return _Parsed(name, functools.partial(parse_si, units=units))


def _listed(item: _Parsed) -> _Parsed:
    return _Parsed(f"{item.name},...", functools.partial(_read_list, item))


# A nonce or a count of nonces: 16777216, 16,777,216, 100M, 0xFFFFFFFF.
COUNT = _Parsed("n", parse_count)
# 0.8 or 80%: a share (click's float refuses the %).
FRACTION = _Parsed("fraction", parse_fraction)
# SI prefixes (3.6k, 270T, 1.1Z), thousands commas (3,500), the unit written or not (3.6 kW, 270 TH/s, $91k).
NUMBER = _quantity("number")
WATTS = _quantity("watts", "W")
HASHRATE = _quantity("hashrate", "H/s", "H", "Hs")
USD = _quantity("usd", "USD")
TOKEN_RATE = _quantity("tokens/s", "tokens/s", "tok/s", "tokens")
# USD per kWh: 0.055, $0.055/kWh, 55/MWh (a bare $1 or more refused: a per-MWh tariff without its unit).
POWER_PRICE = _Parsed("price", parse_power_price)
NUMBERS, USDS, POWER_PRICES = _listed(NUMBER), _listed(USD), _listed(POWER_PRICE)


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
