"""Invoke the economics commands the way `hashbench.cli.main` does: a HashbenchError or a refused flag becomes one
line on stderr and its exit code. A tiny group of our own, so these tests need neither cli.py's registration nor the
backends."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import click
from click.testing import CliRunner, Result

from hashbench.cli_economics import market, plan, yield_cmd
from hashbench.errors import HashbenchError


class _Main(click.Group):
    def main(self, args=None, prog_name=None, **extra):
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.ClickException as exc:  # a flag's value refused while the command line is read
            click.echo(f"hashbench: error: {' '.join(exc.format_message().split())}", err=True)
            code = exc.exit_code
        except HashbenchError as exc:
            click.echo(f"hashbench: error: {exc}", err=True)
            code = exc.exit_code
        sys.exit(code if isinstance(code, int) else 0)


def make_cli() -> click.Group:
    group = _Main("hashbench")
    for command in (yield_cmd, market, plan):
        group.add_command(command)
    return group


def runner() -> CliRunner:
    # click < 8.2 mixes stderr into output unless told not to; 8.2+ always keeps it apart and dropped the flag.
    params = inspect.signature(CliRunner.__init__).parameters
    return CliRunner(**({"mix_stderr": False} if "mix_stderr" in params else {}))


def invoke(*args: str, env: dict | None = None) -> Result:
    return runner().invoke(make_cli(), list(args), env=env, catch_exceptions=False)


def invoke_json(*args: str, env: dict | None = None) -> dict:
    result = invoke(*args, "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def assert_one_line_error(result: Result, *fragments: str, code: int = 2) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
