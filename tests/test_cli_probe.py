"""`hashbench probe` around a fake run_probes: the settings and energy config it passes, what goes to stdout and
stderr (table or --json), the exit status, Ctrl-C; and the table's pieces (shape, labels, details, J per unit,
presets). Fast: no torch work runs."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from hashbench import cli_probe
from hashbench.energy import EnergyReading
from hashbench.energy.config import DEFAULT_IDLE_SECONDS
from hashbench.probes.llama import PRESETS
from hashbench.probes.result import ProbeResult
from hashbench.probes.runner import ProbeRun, ProbeSettings, Skipped


def invoke(capsys, *args: str) -> tuple[int, str, str]:
    from hashbench.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def result(probe: str, preset: str, dtype: str | None, flags: list[str] | None = None,
           energy_flags: tuple[str, ...] = ()) -> ProbeResult:
    energy = EnergyReading("declared", "declared", "declared constant", 2.0, 100.0, flags=energy_flags)
    return ProbeResult(probe=probe, device="cpu", preset=preset, dtype=dtype, batch=None, unit="FLOP/s",
                       samples=[2.0e9], work=4.0, per="TFLOP", seconds=2.0, energy=energy, roofline_fraction=0.5,
                       flags=list(flags or []))


class FakeRunProbes:
    """Stands in for run_probes: says what a run says to its listener, returns `run`, or raises `stop` after the
    first result."""

    def __init__(self, run: ProbeRun, stop: BaseException | None = None) -> None:
        self.run = run
        self.stop = stop
        self.note = "running [bold]bf16[/bold] on cpu"  # the first thing it says; a test may give its own
        self.seen: list[tuple[ProbeSettings, object]] = []

    def __call__(self, settings, energy, listen):
        self.seen.append((settings, energy.config))
        listen("note", "hf:m", self.note)
        for r in self.run.results:
            label = f"{r.probe} {r.dtype} [x]"
            listen("start", label, None)
            listen("done", label, r)
            if self.stop is not None:
                raise self.stop
        for s in self.run.skipped:
            listen("start", f"{s.probe} {s.preset}", None)
            listen("skip", f"{s.probe} {s.preset}", s.reason)
        for s in self.run.failed:
            listen("start", f"{s.probe} {s.preset}", None)
            listen("fail", f"{s.probe} {s.preset}", s.reason)
        return self.run


def make_run(failed: bool = False, threads: int | None = 4) -> ProbeRun:
    results = [result("gemm", "64x64x64", "fp32", flags=["model fits in [cache]", "declared power"],
                      energy_flags=("declared power",)),
               result("llm-prefill", "cpu-tiny", "fp32", flags=["declared power"])]
    return ProbeRun("cpu", "Fake [CPU] 9000", "2.13.0", threads, "declared 100 W [label]", results=results,
                    skipped=[Skipped("llm-decode", "llama-70b", "llama-70b needs 300 GB; " + "x " * 80 + "end")],
                    failed=[Skipped("membw", "4 MiB", "CUDA error: [illegal] access")] if failed else [])


@pytest.fixture
def fake(monkeypatch):
    import hashbench.probes as probes

    def install(run: ProbeRun, stop: BaseException | None = None) -> FakeRunProbes:
        fake = FakeRunProbes(run, stop)
        monkeypatch.setattr(probes, "run_probes", fake)
        return fake

    return install


def test_the_options_become_the_settings(capsys, fake, tmp_path, monkeypatch):
    monkeypatch.setattr(ProbeSettings, "validate", lambda self: None)  # the model dir is not a checkpoint
    f = fake(make_run())
    code, _, err = invoke(capsys, "probe", "--device", "cpu", "--probe", "gemm", "--probe", "llm-decode", "--preset",
                          "cpu-tiny", "--preset", "cpu-small", "--model-dir", str(tmp_path), "--batch", "3",
                          "--prompt-len", "20", "--gen-len", "5", "--dtype", "bf16", "--seconds", "0.5", "--quick",
                          "--threads", "1", "--no-cuda-graphs", "--energy", "declared", "--watts", "90",
                          "--idle-watts", "9", "--json")
    assert code == 0, err
    (settings, config), = f.seen
    assert settings == ProbeSettings(device="cpu", probes=("gemm", "llm-decode"), presets=("cpu-tiny", "cpu-small"),
                                     model_dir=tmp_path, batch=3, prompt_len=20, gen_len=5, dtype="bf16",
                                     seconds=0.5, quick=True, threads=1, cuda_graphs=False)
    assert (config.mode, config.watts, config.idle_watts) == ("declared", 90.0, 9.0)
    assert config.idle_seconds == cli_probe.QUICK_IDLE_SECONDS == 1.0  # --quick measures idle power for 1 s


def test_defaults_become_empty_settings(capsys, fake):
    f = fake(make_run())
    code, _, err = invoke(capsys, "probe", "--energy", "none", "--json")
    assert code == 0, err
    (settings, config), = f.seen
    assert settings == ProbeSettings()  # every None or empty: the device's defaults, cuda graphs on
    assert config.mode == "none" and config.idle_seconds == DEFAULT_IDLE_SECONDS != 1.0
    f = fake(make_run())
    invoke(capsys, "probe", "--json", "--quick", "--idle-seconds", "3")
    assert f.seen[0][1].idle_seconds == 3.0 and f.seen[0][1].mode == "auto"


def test_settings_are_validated_before_the_run(capsys, fake):
    f = fake(make_run())
    code, out, err = invoke(capsys, "probe", "--gen-len", "0", "--json")
    assert code == 2 and not out and err.strip() == "hashbench: error: --gen-len must be >= 1, got 0" and not f.seen


def test_json_is_the_records_and_stderr_has_each_event_on_one_line(capsys, fake, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    run = make_run()
    fake(run)
    code, out, err = invoke(capsys, "probe", "--json")
    assert code == 0
    assert json.loads(out) == [r.to_json() for r in run.results]
    assert err.splitlines() == ["note: running [bold]bf16[/bold] on cpu",
                                "skipped llm-decode llama-70b: " + run.skipped[0].reason]


def test_a_long_failure_and_a_long_note_stay_one_line_each(capsys, fake, monkeypatch):
    """As a skip does: logs and benchmarks/gpu/summarize.py read `failed ...` and `note: ...` back a line at a
    time, so a reason longer than the terminal is not wrapped onto lines without the prefix."""
    monkeypatch.setenv("COLUMNS", "60")
    note = "hf:m's config.json says bfloat16; running fp32 as --dtype asks, " + "w " * 40 + "end"
    reason = "CUDA error: an illegal memory access was encountered; " + "y " * 60 + "end"
    run = replace(make_run(), failed=[Skipped("membw", "4 MiB", reason)])
    fake(run).note = note
    code, out, err = invoke(capsys, "probe", "--json")
    assert code == 1 and [r["probe"] for r in json.loads(out)] == ["gemm", "llm-prefill"]
    assert err.splitlines() == [
        f"note: {note}",
        "skipped llm-decode llama-70b: " + run.skipped[0].reason,
        f"failed membw 4 MiB: {reason}",
    ]


def test_a_failed_probe_exits_1_with_what_was_measured(capsys, fake):
    run = make_run(failed=True)
    fake(run)
    code, out, err = invoke(capsys, "probe", "--json")
    assert code == 1 and [r["probe"] for r in json.loads(out)] == ["gemm", "llm-prefill"]
    assert "failed membw 4 MiB: CUDA error: [illegal] access" in err.splitlines()
    fake(run)
    code, out, err = invoke(capsys, "probe")
    assert code == 1 and "gemm fp32" in out and "failed membw 4 MiB: CUDA error: [illegal] access" in err.splitlines()


def test_the_table_output(capsys, fake):
    fake(make_run())
    code, out, err = invoke(capsys, "probe")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "cpu: Fake [CPU] 9000, torch 2.13.0, 4 thread(s)"
    assert "AI probes on cpu (measured)" in out and "64³" in out and "50 %" in out and "25 J/TFLOP" in out
    assert "energy: declared 100 W [label]" in lines
    # each flag once: the energy reading's, then the probe's own after its name; markup shown as written
    assert [line for line in lines if line.startswith("note: ")] == ["note: declared power",
                                                                     "note: gemm fp32 64³: model fits in [cache]"]
    assert err.splitlines() == ["note: running [bold]bf16[/bold] on cpu", "gemm fp32 [x]…", "llm-prefill fp32 [x]…",
                                "llm-decode llama-70b…",
                                "skipped llm-decode llama-70b: " + make_run().skipped[0].reason]


def test_the_header_without_a_thread_count(capsys, fake):
    fake(make_run(threads=None))
    code, out, _ = invoke(capsys, "probe")
    assert code == 0 and out.splitlines()[0] == "cpu: Fake [CPU] 9000, torch 2.13.0"


@pytest.mark.parametrize("as_json", [False, True])
def test_ctrl_c_keeps_the_probes_already_measured(capsys, fake, as_json):
    fake(make_run(), stop=KeyboardInterrupt())
    code, out, err = invoke(capsys, "probe", *(["--json"] if as_json else []))
    assert code == 130 and "interrupted: 1 finished measurement(s) kept above" in err
    if as_json:
        assert [r["probe"] for r in json.loads(out)] == ["gemm"]
    else:
        assert "AI probes on cpu (measured)" in out and "gemm fp32" in out and "llm-prefill" not in out


def test_ctrl_c_before_any_probe_prints_no_table(capsys, monkeypatch):
    import hashbench.probes as probes

    def stop_at_once(settings, energy, listen):
        raise KeyboardInterrupt

    monkeypatch.setattr(probes, "run_probes", stop_at_once)
    code, out, err = invoke(capsys, "probe")
    assert code == 130 and out == "" and "interrupted: 0 finished" in err


def test_list_presets_as_json(capsys):
    code, out, _ = invoke(capsys, "probe", "--list-presets", "--json")
    listed = json.loads(out)
    assert code == 0 and [p["preset"] for p in listed] == list(PRESETS)
    for p in listed:
        s = PRESETS[p["preset"]]
        assert p == {"preset": s.name, "params": s.params(), "layers": s.layers, "hidden": s.hidden,
                     "intermediate": s.intermediate, "heads": s.heads, "kv_heads": s.kv_heads, "head_dim": s.hd,
                     "vocab": s.vocab, "tie_embeddings": s.tie_embeddings, "rope_theta": s.rope_theta,
                     "max_positions": s.max_positions, "description": s.description}


def test_list_presets_table(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    small = replace(PRESETS["cpu-tiny"], name="tiny-nocontext", max_positions=None)
    monkeypatch.setattr(cli_probe, "PRESETS", {"cpu-tiny": PRESETS["cpu-tiny"], "llama-8b": PRESETS["llama-8b"],
                                               "tiny-nocontext": small})
    code, out, _ = invoke(capsys, "probe", "--list-presets")
    rows = [" ".join(line.split()) for line in out.splitlines() if line.startswith("│")]
    tiny = PRESETS["cpu-tiny"]
    assert code == 0 and len(rows) == 3
    assert rows[0].startswith(f"│ cpu-tiny │ {tiny.params() / 1e6:.1f} M │ {tiny.layers} │ {tiny.hidden} │ "
                              f"{tiny.heads}/{tiny.kv_heads} │ {tiny.max_positions:,} │")
    assert rows[1].startswith("│ llama-8b │ 8.03 B │ 32 │ 4096 │ 32/8 │ 131,072 │")
    assert rows[2].startswith("│ tiny-nocontext │") and "│ — │" in rows[2]
    header = next(line for line in out.splitlines() if "preset" in line and "params" in line)
    assert header.split() == ["┃", "preset", "┃", "params", "┃", "layers", "┃", "hidden", "┃", "heads/kv", "┃",
                              "context", "┃", "what", "┃"]


# --- the table's pieces ----------------------------------------------------------------------------------------------


def row(**kw) -> dict:
    base = {"probe": "gemm", "device": "cpu", "dtype": "fp32", "preset": "64x64x64", "batch": None, "value": 2e9,
            "unit": "FLOP/s", "per": "TFLOP", "joules_per_unit": None, "roofline_fraction": None,
            "reference_ratio": None, "reference_impl": None, "ms_per_token": None}
    return {**base, **kw}


def test_per_unit_switches_to_kilojoules_at_one_thousand():
    assert cli_probe._per_unit(1000.0, "TFLOP") == "1.00 kJ/TFLOP"
    assert cli_probe._per_unit(999.0, "TFLOP") == "999 J/TFLOP"
    assert cli_probe._per_unit(0.0, "token") == "0 J/token"


@pytest.mark.parametrize("r, shape", [
    (row(), "64³"),
    (row(preset="64x32x64"), "64x32x64"),  # not a cube
    (row(preset="64x64x32"), "64x64x32"),
    (row(preset="64x64"), "64x64"),
    (row(preset="64"), "64"),
    (row(probe="llm-decode", preset="mixtral-8x8x8"), "mixtral-8x8x8"),  # only gemm's presets are cubes
    (row(probe="llm-decode", preset="8x8x8", batch=4), "8x8x8 ×4"),
    (row(probe="llm-decode", preset="cpu-tiny", batch=1), "cpu-tiny ×1"),
])
def test_shape(r, shape):
    assert cli_probe._shape(r) == shape


def test_row_label():
    assert cli_probe._row_label(row()) == "gemm fp32"
    assert cli_probe._row_label(row(probe="membw", dtype=None)) == "membw"


def test_probe_details():
    rows = [row(reference_ratio=1.234, reference_impl="torch.matmul"),
            row(dtype="bf16"),  # no reference: no line
            row(probe="membw", dtype=None, preset="4 MiB", reference_ratio=0.5, reference_impl="tensor.sum"),
            row(probe="membw", dtype=None, preset="8 MiB"),
            row(probe="llm-decode", preset="cpu-tiny", batch=None, ms_per_token=3.0),
            row(probe="llm-decode", preset="cpu-small", batch=2, ms_per_token=4.0),
            row(probe="llm-decode", preset="cpu-big", batch=2),  # no ms/token: no line
            row(probe="llm-prefill", preset="cpu-tiny", batch=1, ms_per_token=1.0, reference_ratio=2.0)]
    assert cli_probe.probe_details(rows) == [
        "gemm fp32 64³: 1.23× torch.matmul (same shapes, alternating blocks)",
        "membw 4 MiB: a copy, counted as read + write; 0.50× tensor.sum",
        "llm-decode fp32 cpu-tiny: 3.00 ms/token",
        "llm-decode fp32 cpu-small ×2: 4.00 ms/token per sequence (a step makes 2 tokens)"]
    # on more than one device each line names its own
    two = [row(reference_ratio=1.0, reference_impl="torch.matmul"), row(device="cuda:0")]
    assert cli_probe.probe_details(two) == ["gemm fp32 64³ on cpu: 1.00× torch.matmul (same shapes, alternating "
                                            "blocks)"]


def test_results_table_one_per_device_with_an_empty_roof_as_a_dash():
    from rich.console import Console

    rows = [row(roofline_fraction=0.456, joules_per_unit=2.0), row(device="cuda:0", dtype="bf16"),
            row(probe="llm-prefill", preset="[b]x[/b]", batch=2, value=10.0, unit="tokens/s", per="token")]
    console = Console(width=120, record=True, color_system=None)
    console.print(cli_probe.results_table(rows))
    text = console.export_text()
    body = [" ".join(line.split()) for line in text.splitlines() if line.startswith("│")]
    assert text.index("AI probes on cpu (measured)") < text.index("AI probes on cuda:0 (measured)")
    assert body == ["│ gemm fp32 │ 64³ │ 2.00 GFLOP/s │ 46 % │ 2 J/TFLOP │",
                    "│ llm-prefill fp32 │ [b]x[/b] ×2 │ 10.0 tok/s │ — │ — │",
                    "│ gemm bf16 │ 64³ │ 2.00 GFLOP/s │ — │ — │"]
    header = next(line for line in text.splitlines() if "probe" in line and "shape" in line)
    assert header.split() == ["┃", "probe", "┃", "shape", "┃", "measured", "┃", "roof", "┃", "energy", "┃"]


def test_probe_flags_once_each_in_order_a_probes_own_after_the_probes_it_holds_for():
    def row(probe: str, window: list[str], own: list[str]) -> dict:
        return {"probe": probe, "dtype": "bf16", "preset": "cpu-small", "batch": 1, "energy": {"flags": window},
                "flags": own}

    rows = [row("llm-prefill", ["b", "a"], ["c", "fits in cache (3 MB)", "a"]),
            row("llm-decode", ["a"], ["c", "fits in cache (4 MB)"])]
    assert cli_probe.probe_flags(rows) == [
        "b", "a", "llm-prefill bf16 cpu-small ×1, llm-decode bf16 cpu-small ×1: c",
        "llm-prefill bf16 cpu-small ×1: fits in cache (3 MB)", "llm-decode bf16 cpu-small ×1: fits in cache (4 MB)"]



def test_a_preset_with_a_model_dir_is_one_line_and_exit_2(capsys, fake, tmp_path):
    f = fake(make_run())
    code, out, err = invoke(capsys, "probe", "--preset", "llama-8b", "--model-dir", str(tmp_path), "--json")
    assert code == 2 and not out and not f.seen
    assert err.strip() == (f"hashbench: error: --preset llama-8b and --model-dir {tmp_path}: one model or the other "
                           "(a checkpoint runs instead of the presets' random weights)")


def test_json_is_indented_two_spaces(capsys, fake):
    run = make_run()
    fake(run)
    code, out, _ = invoke(capsys, "probe", "--json")
    assert code == 0 and out == json.dumps([r.to_json() for r in run.results], indent=2) + "\n"


def render(renderable, width: int = 120, styles: bool = False) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, color_system="truecolor" if styles else None, force_terminal=styles)
    console.print(renderable)
    return console.export_text(styles=styles)


def test_results_table_aligns_the_figures_right_and_folds_a_long_shape():
    name = "hf:" + "a-very-long-checkpoint-directory-name-" * 3
    rows = [row(roofline_fraction=0.99, joules_per_unit=2.0),
            row(probe="llm-prefill", preset="cpu-tiny", batch=2, value=12345.0, unit="tokens/s", per="token",
                roofline_fraction=0.05, joules_per_unit=1234.5),
            row(probe="llm-decode", preset=name, batch=1, value=10.0, unit="tokens/s", per="token")]
    text = render(cli_probe.results_table(rows), width=80)
    lines = [line for line in text.splitlines() if line.startswith("│")]
    assert max(len(line) for line in text.splitlines()) <= 80
    # every figure cell right-aligned: its text ends one space before the cell's closing bar
    first, second = lines[0].split("│")[1:-1], lines[1].split("│")[1:-1]
    assert first[2].endswith("2.00 GFLOP/s ") and first[3] == "99 %".rjust(len(first[3]) - 1) + " "
    assert first[4].endswith(" 2 J/TFLOP ") and second[2].endswith(" 12,345 tok/s ") and second[3].endswith(" 5 % ")
    assert second[4].endswith(" 1.23 kJ/token ")
    assert first[0].startswith(" gemm fp32 ") and first[1].startswith(" 64³ ")  # the text cells left-aligned
    # the long name folds over lines in its own cell, whole; every other cell stays on one line
    shape_cells = [line.split("│")[2].strip() for line in lines[2:]]
    assert "".join(shape_cells).replace(" ", "") == name + "×1"
    assert lines[2].split("│")[1].strip() == "llm-decode fp32" and lines[2].split("│")[3].endswith(" 10.0 tok/s ")
    assert all(line.split("│")[1].strip() == "" for line in lines[3:])


def test_a_narrow_results_table_wraps_the_shape_and_never_a_figure():
    rows = [row(probe="llm-prefill", preset="hf:my checkpoint with a long name", batch=256, value=123456.7,
                unit="tokens/s", per="token", roofline_fraction=0.987, joules_per_unit=0.00987)]
    text = render(cli_probe.results_table(rows), width=76)
    lines = [line for line in text.splitlines() if line.startswith("│")]
    assert max(len(line) for line in text.splitlines()) <= 76 and len(lines) > 1
    assert lines[0].split("│")[1].strip() == "llm-prefill fp32"
    assert [c.strip() for c in lines[0].split("│")[3:6]] == ["123,457 tok/s", "99 %", "0.00987 J/token"]
    assert all(c.strip() == "" for line in lines[1:] for i, c in enumerate(line.split("│")[1:-1]) if i != 1)


def test_results_table_rounds_the_roof_to_whole_percent():
    text = render(cli_probe.results_table([row(roofline_fraction=0.994), row(dtype="bf16", roofline_fraction=0.999)]))
    body = [" ".join(line.split()) for line in text.splitlines() if line.startswith("│")]
    assert "│ 99 % │" in body[0] and "│ 100 % │" in body[1]


def test_results_table_details_and_a_dim_caption():
    rows = [row(reference_ratio=1.5, reference_impl="torch.matmul")]
    text = " ".join(render(cli_probe.results_table(rows)).split())
    assert "gemm fp32 64³: 1.50× torch.matmul (same shapes, alternating blocks)" in text
    assert text.endswith(" ".join(cli_probe.ROOFLINE_CAPTION.split()))
    styled = render(cli_probe.results_table(rows), width=400, styles=True)
    assert f"\x1b[2m{cli_probe.ROOFLINE_CAPTION}\x1b[0m" in styled


class FakeShape:
    def __init__(self, name: str, params: int, max_positions: int | None = 4096) -> None:
        self.name, self._params, self.max_positions = name, params, max_positions
        self.layers, self.hidden, self.heads, self.kv_heads = 2, 64, 4, 2
        self.description = f"the {name} shape"

    def params(self) -> int:
        return self._params


def test_presets_table_figures(monkeypatch):
    shapes = [FakeShape("at-100m", 100_000_000), FakeShape("below-100m", 99_999_999),
              FakeShape("rounds-up-b", 1_235_000_001, 131_072), FakeShape("rounds-up-m", 12_350_001, None)]
    monkeypatch.setattr(cli_probe, "PRESETS", {s.name: s for s in shapes})
    text = render(cli_probe.presets_table(), width=100)
    assert text.splitlines()[0].strip() == "LLM presets (random weights, these shapes)"
    body = [" ".join(line.split()) for line in text.splitlines() if line.startswith("│")]
    assert body == ["│ at-100m │ 0.10 B │ 2 │ 64 │ 4/2 │ 4,096 │ the at-100m shape │",
                    "│ below-100m │ 100.0 M │ 2 │ 64 │ 4/2 │ 4,096 │ the below-100m shape │",
                    "│ rounds-up-b │ 1.24 B │ 2 │ 64 │ 4/2 │ 131,072 │ the rounds-up-b shape │",
                    "│ rounds-up-m │ 12.4 M │ 2 │ 64 │ 4/2 │ — │ the rounds-up-m shape │"]
    raw = [line for line in text.splitlines() if line.startswith("│")][1].split("│")[1:-1]
    assert raw[0].startswith(" below-100m") and raw[6].startswith(" the below-100m shape")  # left
    assert all(cell.endswith(figure + " ") for cell, figure in zip(raw[1:6], ["100.0 M", "2", "64", "4/2", "4,096"],
                                                                    strict=True))  # right


def test_presets_table_wraps_only_the_description(monkeypatch):
    shapes = [FakeShape("a-long-preset-name", 123_456_789_000, 1_000_000)]
    shapes[0].description = "a description long enough that it has to wrap at forty columns " * 2
    monkeypatch.setattr(cli_probe, "PRESETS", {s.name: s for s in shapes})
    text = render(cli_probe.presets_table(), width=90)
    lines = [line for line in text.splitlines() if line.startswith("│")]
    assert len(lines) > 1 and " ".join(lines[0].split()).startswith("│ a-long-preset-name │ 123.46 B │ 2 │ 64 │ 4/2 │ "
                                                                     "1,000,000 │")
    assert all(cell.strip() == "" for line in lines[1:] for cell in line.split("│")[1:7])


def test_energy_config_measures_idle_power_one_second_only_with_quick():
    assert cli_probe.energy_config("none", None, None, None).idle_seconds == DEFAULT_IDLE_SECONDS
    assert cli_probe.energy_config("none", None, None, None, True).idle_seconds == 1.0
    assert cli_probe.energy_config("none", None, None, 2.5, True).idle_seconds == 2.5


def test_energy_options_parse_into_the_commands_arguments():
    import click
    from click.testing import CliRunner

    @click.command()
    @cli_probe.energy_options
    def command(**kwargs):
        click.echo(json.dumps(kwargs, sort_keys=True))

    runner = CliRunner()
    result = runner.invoke(command, [])
    assert result.exit_code == 0 and json.loads(result.output) == {"energy_mode": "auto", "watts": None,
                                                                   "idle_watts": None, "idle_seconds": None}
    result = runner.invoke(command, ["--energy", "declared", "--watts", "90", "--idle-watts", "9.5",
                                     "--idle-seconds", "2"])
    assert result.exit_code == 0 and json.loads(result.output) == {"energy_mode": "declared", "watts": 90.0,
                                                                   "idle_watts": 9.5, "idle_seconds": 2.0}
    assert runner.invoke(command, ["--energy", "solar"]).exit_code == 2
    assert runner.invoke(command, ["--watts", "lots"]).exit_code == 2
    assert runner.invoke(command, ["--idle-watts", "lots"]).exit_code == 2
    # Written as yield reads a wattage: SI prefix, unit, thousands commas.
    result = runner.invoke(command, ["--watts", "3.5 kW", "--idle-watts", "1,200"])
    assert result.exit_code == 0 and json.loads(result.output)["watts"] == 3500.0
    assert json.loads(result.output)["idle_watts"] == 1200.0
    assert runner.invoke(command, ["--idle-seconds", "lots"]).exit_code == 2
    help_text = " ".join(runner.invoke(command, ["--help"], terminal_width=400).output.split())
    modes = "|".join(cli_probe.MODES)
    for line in (f"--energy [{modes}] Energy source: auto picks NVML for a GPU, RAPL for a CPU, then IPMI/Redfish, "
                 "then --watts. [default: auto]",
                 "--watts WATTS Declared power in W, 3.5k accepted (labelled declared, not measured).",
                 "--idle-watts WATTS Declared idle power in W (with --watts).",
                 "--idle-seconds FLOAT Idle power measured this long before the first workload (default: 5; 1 with "
                 "run's or probe's --quick)."):
        assert line in help_text, help_text
    # the order the options were given in
    assert help_text.index("--energy") < help_text.index("--watts") < help_text.index("--idle-watts") < \
        help_text.index("--idle-seconds")


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_model_dir_is_refused_not_read_as_the_current_directory(capsys, fake, value):
    """--model-dir "" (an unset shell variable) became Path("") == "." and ran whatever checkpoint the current
    directory held, or failed naming "--model-dir ." — a directory nobody gave."""
    f = fake(make_run())
    code, out, err = invoke(capsys, "probe", "--model-dir", value, "--json")
    assert code == 2 and not out and not f.seen
    assert err.strip() == ("hashbench: error: --model-dir is empty: give a local Hugging Face model directory, or "
                           "leave --model-dir out for random weights")


def test_a_probe_record_carries_every_field_the_json_promises():
    """`probe --json` and the run file are built from this record; runfile, the results schema and the notes read it
    by these names (mutation testing of result.py: renaming any of them passed every test)."""
    energy = EnergyReading("rapl", "cpu package", "energy counter", 2.0, 100.0, idle_watts=20.0, idle_seconds=1.0,
                           flags=("short window",))
    r = ProbeResult(probe="gemm", device="cpu", preset="512x512x512", dtype="bf16", batch=None, unit="FLOP/s",
                    samples=[3.0e11, 1.0e11, 2.0e11], work=5.0, per="TFLOP", seconds=2.0, energy=energy,
                    impl="tiled", reference_samples=[2.0e11, 2.0e11, 1.0e11], reference_impl="torch.matmul",
                    roofline_fraction=0.9, roofline_basis="÷ best bf16 GEMM", ms_per_token=None,
                    detail={"n": 512}, flags=["warm"])
    assert r.to_json() == {
        "probe": "gemm", "device": "cpu", "preset": "512x512x512", "dtype": "bf16", "batch": None, "value": 2.0e11,
        "unit": "FLOP/s", "roofline_fraction": 0.9, "roofline_basis": "÷ best bf16 GEMM", "energy_j": 100.0,
        "energy_j_net": 60.0, "joules_per_unit": 20.0, "joules_per_unit_net": 12.0, "per": "TFLOP", "work": 5.0,
        "power_source": "rapl (cpu package)", "impl": "tiled", "reference_value": 2.0e11,
        "reference_impl": "torch.matmul", "reference_ratio": 1.5, "ms_per_token": None, "seconds": 2.0,
        "samples": [3.0e11, 1.0e11, 2.0e11], "value_min": 1.0e11, "value_max": 3.0e11, "energy": energy.to_json(),
        "detail": {"n": 512}, "flags": ["warm"]}  # the ratio: median of the pairs 1.5, 0.5, 2, not 2e11 / 2e11
    bare = ProbeResult(probe="membw", device="cpu", preset="1 GiB", dtype=None, batch=None, unit="B/s",
                       samples=[1.0e10], work=2.0, per="GB", seconds=1.0, energy=energy)
    assert (bare.to_json()["reference_impl"], bare.to_json()["reference_value"]) == (None, None)
