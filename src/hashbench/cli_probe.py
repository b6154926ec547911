"""`hashbench probe`: AI inference probes with their energy. Parse, call run_probes, print a table or --json.

Register with `cli.add_command(probe)`. torch is imported only when the command runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console, Group
from rich.markup import escape
from rich.text import Text

from .cli_options import WATTS, interrupted
from .cli_table import Table
from .cpuload import CpuLoad, shared_note
from .energy import MODES, EnergyConfig, EnergyPlan
from .errors import InputError
from .probes.device import DTYPE_NAMES
from .probes.llama import PRESETS
from .probes.runner import PROBES, ProbeSettings
from .units import format_rate, format_si

# Own consoles rather than cli.py's, so cli.py can import this module at its top without a cycle.
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
QUICK_IDLE_SECONDS = 1.0


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


def _per_unit(joules: float | None, per: str) -> str:
    if joules is None:
        return "—"
    if joules >= 1e3:  # 5.46 kJ/TFLOP, not 5.46e+03 J/TFLOP
        return f"{format_si(joules, 'J')}/{per}"
    return f"{joules:.3g} J/{per}"


def _shape(r: dict) -> str:
    # gemm's preset is "NxNxN"; as N³ it leaves the width to the figures
    n, x, rest = r["preset"].partition("x")
    preset = f"{n}³" if r["probe"] == "gemm" and x and rest == f"{n}x{n}" else r["preset"]
    return preset + (f" ×{r['batch']}" if r["batch"] is not None else "")


def _row_label(r: dict) -> str:
    return f"{r['probe']} {r['dtype'] or ''}".strip()


def probe_details(rows: list[dict]) -> list[str]:
    """What a row is compared with, and decode's time per token: lines under the table, not in cells that would
    wrap it past 80 columns."""
    lines = []
    for r in rows:
        where = f"{_row_label(r)} {_shape(r)}" + (f" on {r['device']}" if len({x["device"] for x in rows}) > 1 else "")
        ratio = r.get("reference_ratio")
        if r["probe"] == "gemm" and ratio:
            lines.append(f"{where}: {ratio:.2f}× {r['reference_impl']} (same shapes, alternating blocks)")
        elif r["probe"] == "membw" and ratio:
            lines.append(f"{where}: a copy, counted as read + write; {ratio:.2f}× {r['reference_impl']}")
        elif r["probe"] == "llm-decode" and r.get("ms_per_token") is not None:
            # A step makes one token for each of the batch's sequences: its time is each sequence's ms/token, and
            # batch ÷ it the tokens/s beside it, so at a batch above 1 it is not 1000 ÷ tokens/s.
            batch = r.get("batch") or 1
            per = f" per sequence (a step makes {batch} tokens)" if batch > 1 else ""
            lines.append(f"{where}: {r['ms_per_token']:.2f} ms/token{per}")
    return lines


ROOFLINE_CAPTION = ("roof: ÷ a roof from this run on the same device: the best GEMM measured; for bandwidth, "
                    "NVML's nominal peak where known, else the best memory stream measured. A measured roof reads "
                    "100 % on the probe that set it; --json gives each row's basis.")


def results_table(rows: list[dict]) -> Group:
    """One table per device (`run` measures the CPU and each GPU), which fits 80 columns: the figures in cells that
    never wrap (only a long checkpoint name folds), comparisons and decode's ms/token on lines under it, every
    other detail in --json."""
    parts: list[Table | Text] = []
    for device in dict.fromkeys(r["device"] for r in rows):
        table = Table(title=f"AI probes on {device} (measured)")
        for name, justify in (("probe", "left"), ("shape", "left"), ("measured", "right"), ("roof", "right"),
                              ("energy", "right")):
            table.add_column(name, justify=justify, no_wrap=name != "shape")
        for r in rows:
            if r["device"] == device:
                table.add_row(_row_label(r), escape(_shape(r)), format_rate(r["value"], r["unit"]),
                              f"{r['roofline_fraction'] * 100:.0f} %" if r["roofline_fraction"] is not None else "—",
                              _per_unit(r["joules_per_unit"], r["per"]))
        parts.append(table)
    parts.extend(Text(line) for line in probe_details(rows))
    parts.append(Text(ROOFLINE_CAPTION, style="dim"))
    return Group(*parts)


def cpu_notes(rows: list[dict], label: Callable[[dict], str], noun: str) -> list[str]:
    """A line naming the records measured while other work shared the CPUs (each energy window's cpu_load)."""
    note = shared_note([(label(r), load) for r in rows if (load := (r.get("energy") or {}).get("cpu_load"))], noun)
    return [note] if note else []


def probe_flags(rows: list[dict]) -> list[str]:
    """Every flag of the probe records once: first their energy windows' (declared power, no idle measurement),
    then each probe's own (a model that fits in cache, no native bf16) after the probes it holds for; then the probes
    measured on shared CPUs."""
    label = lambda r: f"{_row_label(r)} {_shape(r)}"  # noqa: E731
    window = dict.fromkeys(f for r in rows for f in r["energy"]["flags"])
    own: dict[str, list[str]] = {}
    for r in rows:
        for flag in r["flags"]:
            if flag not in window:  # said once already
                own.setdefault(flag, []).append(label(r))
    return [*window, *(f"{', '.join(dict.fromkeys(probes))}: {flag}" for flag, probes in own.items()),
            *cpu_notes(rows, label, "probes"), *_crowded_threads(rows)]


def _crowded_threads(rows: list[dict]) -> list[str]:
    """torch's CPU threads wait for one another at every operation: with cores busy elsewhere, a probe that uses
    every CPU waits on the slowest, and measured 10 to 100 times below a run on the free cores alone."""
    loads = [CpuLoad.from_json(load) for r in rows if r.get("device") == "cpu"
             and (load := (r.get("energy") or {}).get("cpu_load")) and load.get("shared")]
    crowded = [load for load in loads if load.crowded]
    if not crowded:
        return []
    cpus = max(load.cpus for load in crowded)
    free = max(1, int(min(load.cpus - load.others for load in crowded)))
    if free >= cpus:
        return []
    return [f"the CPU probes' threads wait for one another at each step: with other work on the CPUs they can run "
            f"many times slower than on the free ones alone (`hashbench probe --device cpu --threads {free}` "
            "measures those)"]


def presets_table() -> Table:
    table = Table(title="LLM presets (random weights, these shapes)")
    for name in ("preset", "params", "layers", "hidden", "heads/kv", "context", "what"):
        table.add_column(name, justify="left" if name in ("preset", "what") else "right", no_wrap=name != "what")
    for s in PRESETS.values():
        table.add_row(s.name, f"{s.params() / 1e9:.2f} B" if s.params() >= 1e8 else f"{s.params() / 1e6:.1f} M",
                      str(s.layers), str(s.hidden), f"{s.heads}/{s.kv_heads}",
                      f"{s.max_positions:,}" if s.max_positions else "—", s.description)
    return table


def energy_options(command: Callable) -> Callable:
    """--energy, --watts, --idle-watts, --idle-seconds: the same flags on `probe` and `run`. The command receives
    them as energy_mode, watts, idle_watts, idle_seconds; energy_config() turns them into an EnergyConfig."""
    options = [
        click.option("--energy", "energy_mode", type=click.Choice(MODES), default="auto", show_default=True,
                     help="Energy source: auto picks NVML for a GPU, RAPL for a CPU, then IPMI/Redfish, then "
                          "--watts."),
        click.option("--watts", type=WATTS, default=None,
                     help="Declared power in W, 3.5k accepted (labelled declared, not measured)."),
        click.option("--idle-watts", type=WATTS, default=None, help="Declared idle power in W (with --watts)."),
        click.option("--idle-seconds", type=float, default=None,
                     help="Idle power measured this long before the first workload (default: 5; 1 with run's or "
                          "probe's --quick)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def energy_config(energy_mode: str, watts: float | None, idle_watts: float | None, idle_seconds: float | None,
                  quick: bool = False) -> EnergyConfig:
    """Flags over HASHBENCH_* environment settings (Redfish URL and credentials, IPMI options, RAPL root)."""
    if idle_seconds is None and quick:
        idle_seconds = QUICK_IDLE_SECONDS
    return EnergyConfig.from_env(mode=energy_mode, watts=watts, idle_watts=idle_watts, idle_seconds=idle_seconds)


def _model_dir(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    if value is not None and not value.strip():  # --model-dir "" (an unset shell variable) read as the current dir
        raise InputError("--model-dir is empty: give a local Hugging Face model directory, or leave --model-dir out "
                         "for random weights")
    return None if value is None else Path(value)


@click.command("probe")
@click.option("--device", default=None, help="cpu or cuda:N (default: cuda:0 when torch sees a GPU, else cpu).")
@click.option("--probe", "probe_names", multiple=True, type=click.Choice(PROBES),
              help="Probe to run (repeatable; default: all). Roofs a probe needs are measured too.")
@click.option("--preset", "presets", multiple=True, type=click.Choice(list(PRESETS)),
              help="LLM shape (repeatable; default: llama-1b/8b/70b on a GPU, cpu-small on a CPU).")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None, callback=_model_dir,
              help=("A local Hugging Face Llama or Mistral directory (config.json + BF16/F16/F32 safetensors, "
                    "sharded or not) instead of random weights; RoPE default, linear, llama3, yarn or dynamic; "
                    "quantized or biased checkpoints are refused."))
@click.option("--batch", type=int, default=None, help="Sequences per batch (default: 32 on a GPU, 1 on a CPU).")
@click.option("--prompt-len", type=int, default=None, help="Prompt tokens (default: 512 on a GPU, 64 on a CPU).")
@click.option("--gen-len", type=int, default=None, help="Generated tokens (default: 128 on a GPU, 16 on a CPU).")
@click.option("--dtype", type=click.Choice(DTYPE_NAMES), default=None,
              help="Precision (default: gemm in every native one; LLM bf16 on a GPU, fp32 on a CPU; a --model-dir "
                   "checkpoint in its config.json dtype, converted with a note when --dtype differs).")
@click.option("--seconds", type=float, default=None, help="Timed seconds per probe (default: 10 GPU, 1 CPU).")
@click.option("--quick", is_flag=True, help="Small shapes, short windows: the whole set in seconds on a CPU.")
@click.option("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice).")
@click.option("--no-cuda-graphs", "no_cuda_graphs", is_flag=True,
              help="Decode eagerly on a GPU too, one kernel launch at a time (to see what graph replay is worth).")
@energy_options
@click.option("--list-presets", is_flag=True, help="List the LLM presets and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of probe records.")
def probe(device: str | None, probe_names: tuple[str, ...], presets: tuple[str, ...], model_dir: Path | None,
          batch: int | None, prompt_len: int | None, gen_len: int | None, dtype: str | None, seconds: float | None,
          quick: bool, threads: int | None, no_cuda_graphs: bool, energy_mode: str, watts: float | None,
          idle_watts: float | None, idle_seconds: float | None, list_presets: bool, as_json: bool) -> int:
    """AI inference probes — GEMM, memory bandwidth, Llama prefill and decode — each with its energy."""
    from .probes import run_probes

    if list_presets:
        if as_json:
            emit_json([{"preset": s.name, "params": s.params(), "layers": s.layers, "hidden": s.hidden,
                        "intermediate": s.intermediate, "heads": s.heads, "kv_heads": s.kv_heads, "head_dim": s.hd,
                        "vocab": s.vocab, "tie_embeddings": s.tie_embeddings, "rope_theta": s.rope_theta,
                        "max_positions": s.max_positions, "description": s.description} for s in PRESETS.values()])
        else:
            out.print(presets_table())
        return 0
    settings = ProbeSettings(device=device, probes=probe_names, presets=presets, model_dir=model_dir, batch=batch,
                             prompt_len=prompt_len, gen_len=gen_len, dtype=dtype, seconds=seconds, quick=quick,
                             threads=threads, cuda_graphs=not no_cuda_graphs)
    settings.validate()
    config = energy_config(energy_mode, watts, idle_watts, idle_seconds, quick)

    finished = []

    def listen(event: str, label: str, payload: object) -> None:
        if event == "start" and not as_json:
            err.print(f"[dim]{escape(label)}…[/dim]")
        elif event == "skip":
            # One line, however long: logs and benchmarks/gpu/summarize.py read it back by its prefix.
            err.print(f"skipped {escape(label)}: {escape(str(payload))}", soft_wrap=True)
        elif event == "fail":
            err.print(f"failed {escape(label)}: {escape(str(payload))}", soft_wrap=True)
        elif event == "note":  # one line on stderr, --json or not: stdout stays the data
            err.print(f"note: {escape(str(payload))}", soft_wrap=True)
        elif event == "done":
            finished.append(payload)

    with EnergyPlan(config) as energy:
        try:
            run = run_probes(settings, energy, listen)
        except KeyboardInterrupt as exc:  # Ctrl-C keeps the probes already measured (no roofline: its roofs may not be)
            rows = [r.to_json() for r in finished]
            if as_json:
                emit_json(rows)
            elif rows:
                out.print(results_table(rows))
            return interrupted(exc, len(rows))
    rows = [r.to_json() for r in run.results]
    failed = 1 if run.failed else 0  # named on stderr as each failed; what was measured is printed all the same
    if as_json:
        emit_json(rows)
        return failed
    out.print(f"{run.device}: {escape(run.device_model)}, torch {run.torch_version}"
              + (f", {run.threads} thread(s)" if run.threads else ""))
    out.print(results_table(rows))
    out.print(f"energy: {escape(run.energy_source)}")
    for flag in probe_flags(rows):
        out.print(f"[yellow]note[/yellow]: {escape(flag)}")
    return failed
