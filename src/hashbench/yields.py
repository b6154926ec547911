"""`hashbench yield`: choose each economics input from flags, a run file, the catalog or the market snapshot,
remember where it came from, and value the mining and AI sections that apply.

Precedence for every input: a flag (declared) over a measurement in the run file over the catalog's nameplate
or published figure over the market snapshot over a stated default. A measured rate is only paired with the
energy measured for that same rate: a hashrate from a flag never borrows a run's watts."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date
from functools import partial

from . import catalog
from .catalog import MAX_J_PER_TH, MIN_GPU_IDLE_WATTS, MIN_GPU_WATTS, MIN_J_PER_TH
from .economics import (
    DECLARED,
    ESTIMATED,
    GPU_HOUR,
    MEASURED,
    NAMEPLATE,
    TOKENS,
    AIInputs,
    AIYield,
    MiningInputs,
    MiningYield,
    Sourced,
    ai_yield,
    combined_kind,
    difficulty_from_network_hashrate,
    mining_yield,
    subsidy_btc,
    time_shared_throughput,
)
from .errors import InputError
from .market import GPU_HOUR_FIGURE, MODEL_CLASSES, MarketSnapshot, builtin_shape, model_class_of, stale_note
from .runfile import DECODE, PREFILL, RunMeasurements, TokenMeasurement, layer_note

FLAG, DEFAULT, RUN, CATALOG = "flag", "default", "measured (run file)", "catalog nameplate"
RUN_DECLARED = "declared (run file)"  # power a run was given with --energy declared --watts: not measured
PUBLISHED = "published benchmark"


@dataclass(frozen=True)
class YieldRequest:
    """What the user asked for; None means "not given"."""

    hashrate_hps: float | None = None
    watts: float | None = None
    ai_watts: float | None = None
    btc_price_usd: float | None = None
    difficulty: float | None = None
    network_hashrate_hps: float | None = None
    height: int | None = None
    subsidy_btc: float | None = None
    fees_btc_per_block: float | None = None
    pool_fee: float | None = None
    uptime: float | None = None
    power_usd_per_kwh: float | None = None
    tokens_per_second: float | None = None
    input_tokens_per_second: float | None = None
    prefill_tokens_per_second: float | None = None
    input_per_output: float | None = None
    usd_per_mtok: float | None = None
    usd_per_mtok_input: float | None = None
    gpu_hour_usd: float | None = None
    ai_pricing: str | None = None
    gpus: int | None = None
    utilization: float | None = None
    idle_watts: float | None = None
    model_class: str | None = None
    asic: str | None = None
    gpu: str | None = None
    preset: str | None = None

    def given(self, *names: str) -> bool:
        return any(getattr(self, n) is not None for n in names)


_MINING_FLAGS = ("hashrate_hps", "asic", "btc_price_usd", "difficulty", "network_hashrate_hps", "height",
                 "subsidy_btc", "fees_btc_per_block", "pool_fee", "uptime")
_AI_FLAGS = ("ai_watts", "tokens_per_second", "input_tokens_per_second", "prefill_tokens_per_second",
             "input_per_output", "usd_per_mtok", "usd_per_mtok_input", "gpu_hour_usd", "ai_pricing", "gpus",
             "utilization", "idle_watts", "model_class", "gpu", "preset")
assert set(_MINING_FLAGS + _AI_FLAGS) | {"watts", "power_usd_per_kwh"} == {f.name for f in fields(YieldRequest)}


@dataclass(frozen=True)
class Section:
    """One valued section: the result, every input with its provenance, and the kind of every output figure."""

    inputs: dict[str, Sourced]
    result: MiningYield | AIYield
    figure_kinds: dict[str, str]
    market_label: str
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {**self.result.to_json(),
                "inputs": {k: v.to_json() for k, v in self.inputs.items()},
                "figure_kinds": self.figure_kinds,
                "market": self.market_label,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class YieldReport:
    mining: Section | None
    ai: Section | None
    notes: tuple[str, ...] = field(default=())  # what was skipped and why

    def to_json(self) -> dict:
        data = {}
        if self.mining:
            data["mining"] = self.mining.to_json()
        if self.ai:
            data["ai"] = self.ai.to_json()
        data["notes"] = list(self.notes)  # the run's own caveats (incomplete, failed verification) travel with it
        return data


def _flag(value: float, detail: str = "") -> Sourced:
    return Sourced(float(value), FLAG, DECLARED, detail)


def _default(value: float, detail: str) -> Sourced:
    return Sourced(float(value), DEFAULT, DECLARED, detail)


def _power_price(req: YieldRequest, market: MarketSnapshot) -> Sourced:
    if req.power_usd_per_kwh is not None:
        return _flag(req.power_usd_per_kwh)
    return market.sourced("power_usd_per_kwh")


class _Skip(Exception):
    """A section the user did not ask for cannot be valued from the run file: skip it with this reason (about the
    run, which the caller names)."""


# --- mining ---------------------------------------------------------------------------------------------------------

def _mining_inputs(req: YieldRequest, market: MarketSnapshot, run: RunMeasurements | None,
                   today: date | None = None) -> dict[str, Sourced]:
    asic = catalog.find_asic(req.asic) if req.asic else None
    inputs: dict[str, Sourced] = {}
    if req.hashrate_hps is not None:
        inputs["hashrate_hps"] = _flag(req.hashrate_hps)
    elif asic:
        inputs["hashrate_hps"] = Sourced(asic.hashrate_hps, CATALOG, NAMEPLATE, f"{asic.model}: {asic.source}")
    else:
        need_energy = req.watts is None
        best = run.best_hashing(need_energy) if run else None
        if best is None:
            if run and run.hashing and all(h.verify_failed for h in run.hashing):
                raise _Skip("every hashing backend in it failed verification (wrong nonces)")
            if run and run.hashing:
                raise _Skip("its hashing has no energy (give --watts W, the power drawn while hashing)")
            raise _Skip("no hashrate: give --hashrate, --asic MODEL or a run file with a hashing benchmark")
        inputs["hashrate_hps"] = Sourced(best.hashrate_hps, RUN, MEASURED, f"{run.label}: {best.label}")
    if req.watts is not None:
        inputs["watts"] = _flag(req.watts)
    elif inputs["hashrate_hps"].source == RUN:
        best = run.best_hashing(True)
        how = ("the power declared to the run" if best.power_kind == DECLARED else
               f"the run's {best.watts / (best.hashrate_hps / 1e12):,.4g} J/TH × its hashrate, energy from "
               f"{best.power_source or 'an unnamed meter'}")
        inputs["watts"] = _run_power(best.watts, best.power_kind, f"{run.label}: {best.label}: {how}")
    elif asic:
        inputs["watts"] = Sourced(asic.watts, CATALOG, NAMEPLATE, f"{asic.model}: {asic.source} ({asic.note})")
    else:
        raise InputError("mining needs the power drawn: give --watts (or --asic MODEL for nameplate figures)")
    _check_efficiency(inputs["hashrate_hps"], inputs["watts"])

    if req.difficulty is not None and req.network_hashrate_hps is not None:
        raise InputError("give --difficulty or --network-hashrate, not both")
    if req.difficulty is not None:
        catalog.check_difficulty(req.difficulty, "--difficulty")
        inputs["difficulty"] = _flag(req.difficulty)
    elif req.network_hashrate_hps is not None:
        difficulty = difficulty_from_network_hashrate(req.network_hashrate_hps)
        catalog.check_difficulty(difficulty, "--network-hashrate", f"{req.network_hashrate_hps:.4g} H/s")
        inputs["difficulty"] = _flag(difficulty, f"from --network-hashrate {req.network_hashrate_hps:.4g} H/s × 600 s "
                                                 "/ 2^32")
    else:
        inputs["difficulty"] = market.sourced("difficulty")

    if req.height is not None and req.subsidy_btc is not None:
        raise InputError("give --height or --subsidy, not both")
    if req.subsidy_btc is not None:
        inputs["subsidy_btc"] = _flag(req.subsidy_btc)
    elif req.height is not None:
        inputs["subsidy_btc"] = _flag(subsidy_btc(req.height), f"subsidy at height {req.height:,}")
    else:
        inputs["subsidy_btc"] = market.subsidy(today)

    inputs["btc_price_usd"] = (_flag(req.btc_price_usd) if req.btc_price_usd is not None
                               else market.sourced("btc_price_usd"))
    inputs["fees_btc_per_block"] = (_flag(req.fees_btc_per_block) if req.fees_btc_per_block is not None
                                    else market.sourced("fees_btc_per_block"))
    inputs["pool_fee"] = (_flag(req.pool_fee) if req.pool_fee is not None
                          else _default(0.0, "no pool fee assumed (FPPS pools typically charge a few percent)"))
    inputs["uptime"] = (_flag(req.uptime) if req.uptime is not None
                        else _default(1.0, "never curtailed"))
    inputs["power_usd_per_kwh"] = _power_price(req, market)
    return inputs


def _check_efficiency(hashrate: Sourced, watts: Sourced) -> None:
    """A typed hashrate or wattage that puts the machine under any SHA-256 machine's J/TH is a unit slip (H/s typed
    as TH/s, kW typed as W), refused as a site file's is; measured and catalog pairs are what they are."""
    if FLAG not in (hashrate.source, watts.source) or hashrate.value <= 0 or watts.value <= 0:
        return  # nothing typed, or a figure the economics refuses with its own message
    j_per_th = watts.value / (hashrate.value / 1e12)
    if j_per_th < MIN_J_PER_TH:
        raise InputError(f"{hashrate.value / 1e12:.4g} TH/s at {watts.value:g} W is {j_per_th:.3g} J/TH, below "
                         f"{MIN_J_PER_TH:g} J/TH and any SHA-256 machine: --hashrate is H/s (270T for 270 TH/s), "
                         "--watts is W (3.6k for 3.6 kW)")
    if j_per_th > MAX_J_PER_TH:
        raise InputError(f"{hashrate.value:g} H/s at {watts.value:g} W is {j_per_th:.3g} J/TH, above "
                         f"{MAX_J_PER_TH:.0e} J/TH and anything that hashes (a CPU in Python included): --hashrate is "
                         "H/s (270T for 270 TH/s), --watts is W")


def _check_gpu_watts(sourced: Sourced, flag: str, gpus: int, floor: float, state: str) -> None:
    """Typed watts for a machine of known GPUs below what any datacenter GPU draws: a kW figure typed as W."""
    if sourced.source != FLAG:
        return
    per_gpu = sourced.value / gpus
    if 0 < per_gpu < floor:
        raise InputError(f"{flag} {sourced.value:g} is {per_gpu:g} W per GPU for {gpus} GPU{'s' if gpus > 1 else ''},"
                         f" below {floor:g} W, less than any datacenter GPU draws {state}: {flag} is W for the "
                         f"whole machine ({sourced.value:g} kW is written {sourced.value:g}k)")


def _run_power(watts: float, kind: str, detail: str) -> Sourced:
    """Power read from a run file: measured there, or declared there (--watts) and labelled so."""
    return Sourced(watts, RUN if kind == MEASURED else RUN_DECLARED, kind, detail)


def value_mining(req: YieldRequest, market: MarketSnapshot, run: RunMeasurements | None,
                 today: date | None = None) -> Section:
    inputs = _mining_inputs(req, market, run, today)
    m = MiningInputs(**{k: v.value for k, v in inputs.items()})
    result = mining_yield(m)
    kinds = {k: ESTIMATED for k in result.to_json()}
    kinds["joules_per_th"] = combined_kind(inputs["hashrate_hps"].kind, inputs["watts"].kind)
    notes = ["profit counts power only: no hardware, hosting, staff or depreciation"]
    if inputs["hashrate_hps"].source == RUN:
        best = min(catalog.asics(), key=lambda a: a.j_per_th)
        notes.append(f"hashrate measured on this machine: {result.joules_per_th:,.0f} J/TH ({kinds['joules_per_th']}),"
                     f" {result.joules_per_th / best.j_per_th:,.0f}× the energy per hash of the {best.model} "
                     f"({best.j_per_th:g} J/TH nameplate, at the wall)")
    if inputs["watts"].source == RUN and (note := layer_note(run.best_hashing(True).power_source)):
        notes.append(note)
    # The run's watts are only ever those of the measurement whose hashrate is valued (never a typed hashrate's).
    notes += _cpu_notes(run, [run.best_hashing(req.watts is None)] if inputs["hashrate_hps"].source == RUN else [])
    return Section(inputs, result, kinds, market.label, tuple(notes))


def _cpu_notes(run: RunMeasurements | None, used: list) -> list[str]:
    """The shared-CPU note of each run measurement whose figures this valuation uses: its rate may be below what
    the machine does alone, and so then is the revenue."""
    return list(dict.fromkeys(f"{run.label}: {m.label}: {m.cpu_note}" for m in used if m and m.cpu_note))


# --- AI ---------------------------------------------------------------------------------------------------------

def _times(t: TokenMeasurement, n: int) -> TokenMeasurement:
    """A one-GPU measurement as n such GPUs: n times the rate and the idle power (its J/token, so its power, follow)."""
    return replace(t, tokens_per_second=t.tokens_per_second * n,
                   idle_watts=t.idle_watts * n if t.idle_watts is not None else None)


def _model_class(req: YieldRequest, decode: TokenMeasurement | None) -> tuple[str | None, str]:
    """(class, how it was chosen); None when the run's model belongs to no priced class."""
    if req.model_class:
        if req.model_class not in MODEL_CLASSES:
            raise InputError(f"model class must be one of {', '.join(MODEL_CLASSES)}, got {req.model_class!r}")
        if decode and (shape := builtin_shape(decode.preset)):
            # A class is declared for a model of unknown size (a checkpoint), not for a toy shape of known size.
            raise InputError(f"--model-class {req.model_class}: the run's {decode.label} is {shape}, not a "
                             f"{req.model_class}-class model, and its tokens do not sell at that class's price: "
                             "give --usd-per-mtok to price them yourself")
        return req.model_class, "--model-class"
    if decode:
        cls = model_class_of(decode.preset)
        return cls, f"from the run's preset {decode.preset!r}"
    if req.preset is not None:  # tokens/s typed beside it: the preset still names the model they are sold for
        return model_class_of(req.preset), f"from --preset {req.preset!r}"
    return "8b", "the default"


def choose_decode(run: RunMeasurements, preset: str | None, model_class: str | None) -> TokenMeasurement | None:
    """The llm-decode measurement to value: the preset asked for, else the fastest of the model class asked for,
    else the fastest of a priced class. Never simply the fastest: that is the smallest model, and a 1B model's
    tokens sold at 8B-class prices overstate the revenue several times over."""
    decodes = [t for t in run.tokens if t.probe == DECODE]
    presets = ", ".join(sorted({t.preset for t in decodes}))
    if preset is not None:
        pool = [t for t in decodes if t.preset == preset]
        if not pool:
            raise InputError(f"{run.path} has no llm-decode probe with preset {preset!r}"
                             + (f"; presets: {presets}" if presets else ""))
    elif model_class is not None:
        pool = [t for t in decodes if model_class_of(t.preset) == model_class]
        if not pool and any(model_class_of(t.preset) for t in decodes):
            raise InputError(f"{run.path} has no llm-decode probe of a {model_class}-class model (presets: "
                             f"{presets}): name the preset to value")
        pool = pool or decodes  # none of a priced class: the class given is a declaration about this model
    else:
        pool = [t for t in decodes if model_class_of(t.preset)] or decodes
    decode = max(pool, key=lambda t: t.tokens_per_second, default=None)
    own = model_class_of(decode.preset) if decode else None
    if model_class is not None and own is not None and own != model_class:
        raise InputError(f"preset {decode.preset!r} is a {own}-class model, not {model_class}")
    return decode


def _decode_from_run(req: YieldRequest, run: RunMeasurements | None) -> TokenMeasurement | None:
    return choose_decode(run, req.preset, req.model_class) if run else None


def _ai_inputs(req: YieldRequest, market: MarketSnapshot, run: RunMeasurements | None
               ) -> tuple[dict[str, Sourced], list[str]]:
    notes: list[str] = []
    if req.preset is not None and run is None:  # else ignored: a 70B preset valued at 8B-class figures
        raise InputError("--preset names an llm-decode probe of a run file: give --from-run RESULT.json, or "
                         f"--model-class {'|'.join(MODEL_CLASSES)} for catalog and snapshot figures")
    gpu = catalog.find_gpu(req.gpu) if req.gpu else None
    decode = None if req.tokens_per_second is not None else _decode_from_run(req, run)
    cls, cls_how = _model_class(req, decode)
    pricing = req.ai_pricing or (GPU_HOUR if req.gpu_hour_usd is not None else TOKENS)
    if pricing not in (TOKENS, GPU_HOUR):
        raise InputError(f"AI pricing must be {TOKENS!r} or {GPU_HOUR!r}, got {pricing!r}")
    gpus = req.gpus if req.gpus is not None else 1
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise InputError(f"--gpus must be a whole number >= 1, got {gpus!r}")
    inputs: dict[str, Sourced] = {}
    # The run's prefill beside its decode (same device, preset and dtype), looked up once.
    beside = run.matching(PREFILL, decode) if decode else None
    # --gpus N beside a run's decode: the run measured one GPU, the machine valued has N of them. Both measurements
    # are scaled by N here, once, and every figure taken from them says so (GPU-hour revenue counts N GPUs: energy
    # for one would be N times too little). J/token stays: rate and power grow together.
    scaled = ""
    if decode and req.gpus is not None:
        if not decode.device.startswith("cuda"):
            raise InputError(f"--gpus {gpus} counts GPUs, and the run's {decode.label} ran on the CPU: give "
                             "--tokens-per-second and --ai-watts for the machine valued")
        scaled = f"{gpus} GPUs × one measured: "
        decode, beside = (_times(t, gpus) if t else None for t in (decode, beside))

    # Output tokens/s: flag, then the run's decode probe, then a published figure for the catalog GPU.
    if req.tokens_per_second is not None:
        inputs["tokens_per_second"] = _flag(req.tokens_per_second)
    elif decode:
        inputs["tokens_per_second"] = Sourced(decode.tokens_per_second, RUN, MEASURED,
                                              f"{scaled}{run.label}: {decode.label}")
    elif gpu and (ref := catalog.reference_throughput(gpu.model, cls)):
        inputs["tokens_per_second"] = Sourced(ref.tokens_per_second * gpus, PUBLISHED, ESTIMATED,
                                              f"{gpus} × {ref.tokens_per_second:g} tokens/s per {gpu.model}, "
                                              f"{cls} class: {ref.source} ({ref.note})")
    elif pricing == TOKENS:
        if run and not run.tokens:
            raise _Skip("it has no tokens/s (no llm-decode probe): give --tokens-per-second, or --gpu-hour-usd to "
                        "price by rental")
        known = ", ".join(f"{r.gpu} {r.model_class}" for r in catalog.throughput_refs())
        raise InputError("AI priced per token needs tokens/s: give --tokens-per-second, a run file with an "
                         f"llm-decode probe, or --gpu with a published figure ({known})")

    # Prompt tokens: declared directly, or time-shared with a prefill rate.
    prefill = None
    if req.prefill_tokens_per_second is not None:
        prefill = _flag(req.prefill_tokens_per_second)
    elif beside:
        prefill = Sourced(beside.tokens_per_second, RUN, MEASURED, f"{scaled}{run.label}: {beside.label}")
    watts_override = None
    if req.input_per_output is not None:
        if req.input_tokens_per_second is not None:
            raise InputError("give --input-tokens-per-second or --input-per-output, not both")
        if prefill is None or "tokens_per_second" not in inputs:
            raise InputError("--input-per-output needs a decode and a prefill rate (a run file with llm-decode and "
                             "llm-prefill probes, or --tokens-per-second with --prefill-tokens-per-second)")
        decode_s = inputs["tokens_per_second"]
        in_tps, out_tps = time_shared_throughput(prefill.value, decode_s.value, req.input_per_output)
        kind = combined_kind(decode_s.kind, prefill.kind)
        # Each rate keeps the name of the measurement it came from (a flag has none).
        rates = " and ".join(f"{what} {s.value:.6g} tokens/s" + (f" ({s.detail})" if s.detail else "")
                             for what, s in (("decode", decode_s), ("prefill", prefill)))
        how = f"time-shared: {rates}, {req.input_per_output:g} prompt tokens per output token"
        inputs["tokens_per_second"] = Sourced(out_tps, decode_s.source, kind, how)
        inputs["input_tokens_per_second"] = Sourced(in_tps, prefill.source, kind, how)
        if decode and decode_s.source == RUN and prefill.source == RUN:
            if decode.watts is not None and beside.watts is not None:
                decode_share = (1 / decode.tokens_per_second) / (1 / out_tps)
                watts_override = decode_share * decode.watts + (1 - decode_share) * beside.watts
    elif req.input_tokens_per_second is not None:
        inputs["input_tokens_per_second"] = _flag(req.input_tokens_per_second)
    elif prefill is not None and pricing == TOKENS:
        notes.append("prefill rate known but not used: pass --input-per-output R to share the machine's time "
                     "between prompt and output tokens")

    # Power at full load. --watts is the AI machine's too, except where it is the miner's: beside --asic, or where
    # mining is valued and the AI section has a power of its own (measured in the run, or --gpu's TDP), which a
    # wattage typed for the hashing must not replace.
    tokens_from_run = inputs.get("tokens_per_second") is not None and inputs["tokens_per_second"].source == RUN
    run_watts = tokens_from_run and decode.watts is not None
    mining_valued = req.given(*_MINING_FLAGS) or bool(run and run.hashing)
    watts_is_mining = req.asic is not None or (mining_valued and (watts_override is not None or run_watts or gpu))
    if req.ai_watts is not None:
        inputs["watts"] = _flag(req.ai_watts)
    elif req.watts is not None and not watts_is_mining:
        inputs["watts"] = _flag(req.watts)
    elif watts_override is not None:
        inputs["watts"] = _run_power(watts_override, decode.power_kind, f"{scaled}time-weighted mean of the decode "
                                     f"and prefill probes' power ({decode.power_source or 'unnamed meter'})")
        if note := layer_note(decode.power_source):
            notes.append(note)
    elif run_watts:
        how = ("the power declared to the run" if decode.power_kind == DECLARED else
               f"{decode.joules_per_token:.4g} J/token × tokens/s, energy from "
               f"{decode.power_source or 'an unnamed meter'}")
        inputs["watts"] = _run_power(decode.watts, decode.power_kind, f"{scaled}{run.label}: {decode.label}: {how}")
        if note := layer_note(decode.power_source):
            notes.append(note)
    elif gpu:
        inputs["watts"] = Sourced(gpu.tdp_w * gpus, CATALOG, NAMEPLATE,
                                  f"{gpus} × {gpu.model} TDP {gpu.tdp_w:g} W: {gpu.source}")
        notes.append(f"watts are the {gpu.model}'s nameplate TDP ({gpu.note})")
    elif tokens_from_run:
        raise _Skip("its llm-decode probe has no energy (give --watts W, --ai-watts W or --gpu MODEL)")
    else:
        raise InputError("AI needs the power drawn: give --ai-watts/--watts, --gpu MODEL, or a run file with energy")

    gpus_known = gpu is not None or req.gpus is not None
    if gpus_known:
        _check_gpu_watts(inputs["watts"], "--ai-watts" if req.ai_watts is not None else "--watts", gpus,
                         MIN_GPU_WATTS, "at full load")

    if pricing == GPU_HOUR:
        for flag, value in (("--usd-per-mtok", req.usd_per_mtok), ("--usd-per-mtok-input", req.usd_per_mtok_input)):
            if value is not None:
                raise InputError(f"price AI by $/Mtok or by $/GPU-hour, not both ({flag} with GPU-hour pricing)")
        inputs.pop("input_tokens_per_second", None)
        if req.gpu_hour_usd is not None:
            inputs["gpu_hour_usd"] = _flag(req.gpu_hour_usd)
        elif gpu and gpu.model in GPU_HOUR_FIGURE:
            inputs["gpu_hour_usd"] = market.sourced(GPU_HOUR_FIGURE[gpu.model])
        else:
            raise InputError("GPU-hour pricing needs --gpu-hour-usd (the snapshot has rental prices for "
                             f"{', '.join(sorted(set(GPU_HOUR_FIGURE)))} via --gpu)")
        inputs["gpus"] = _flag(gpus) if req.gpus is not None else _default(1, "one GPU rented")
    else:
        if req.gpu_hour_usd is not None:  # --ai-pricing tokens beside it: refused, as --usd-per-mtok is above
            raise InputError("price AI by $/Mtok or by $/GPU-hour, not both (--gpu-hour-usd with token pricing)")
        if req.usd_per_mtok is not None:
            inputs["usd_per_mtok"] = _flag(req.usd_per_mtok)
        else:
            if cls is None:
                give = "--usd-per-mtok" if builtin_shape(decode.preset) else "--model-class or --usd-per-mtok"
                raise _Skip(f"its llm-decode preset {decode.preset!r} is neither an 8B- nor a 70B-class model, the "
                            f"classes the snapshot prices: give {give}")
            fig = market.sourced(f"usd_per_mtok_{cls}")
            inputs["usd_per_mtok"] = Sourced(fig.value, fig.source, fig.kind, f"{cls} class ({cls_how}): {fig.detail}")
        if req.usd_per_mtok_input is not None:
            inputs["usd_per_mtok_input"] = _flag(req.usd_per_mtok_input)
        elif "input_tokens_per_second" in inputs:
            raise InputError("prompt tokens need their own price: give --usd-per-mtok-input")

    if req.utilization is not None:
        inputs["utilization"] = _flag(req.utilization)
    else:
        inputs["utilization"] = _default(1.0, "every second sold: an upper bound")
        notes.append("utilization not given: assumes every second is sold (an upper bound); pass --utilization")
    if req.idle_watts is not None:
        inputs["idle_watts"] = _flag(req.idle_watts)
        if gpus_known:
            _check_gpu_watts(inputs["idle_watts"], "--idle-watts", gpus, MIN_GPU_IDLE_WATTS, "idle")
    elif (inputs["watts"].source in (RUN, RUN_DECLARED) and decode and decode.idle_watts is not None
          and decode.idle_watts <= inputs["watts"].value):
        # Only beside the run's own full-load watts: the same meter at the same layer, so unsold hours are billed
        # at what that meter read idle, not at a board's idle under a node's (flagged) full load.
        inputs["idle_watts"] = _run_power(decode.idle_watts, decode.power_kind, f"{scaled}{run.label}: idle "
                                          f"power the {decode.power_source or 'unnamed meter'} read before "
                                          f"{decode.label}")
    if "idle_watts" not in inputs and inputs["utilization"].value < 1:
        notes.append(f"no idle power known: the unsold {(1 - inputs['utilization'].value) * 100:.0f} % of the day is "
                     "billed at full-load power (an upper bound on the energy); pass --idle-watts")
    inputs["power_usd_per_kwh"] = _power_price(req, market)
    used = [decode]  # chosen only where no typed rate replaces it: then its rate is valued (None: nothing used)
    if "input_tokens_per_second" in inputs and inputs["input_tokens_per_second"].source == RUN:
        used.append(beside)
    notes += _cpu_notes(run, used)
    return inputs, notes


def value_ai(req: YieldRequest, market: MarketSnapshot, run: RunMeasurements | None) -> Section:
    inputs, notes = _ai_inputs(req, market, run)
    args = {k: v.value for k, v in inputs.items()}
    if "gpus" in args:
        args["gpus"] = int(args["gpus"])
    result = ai_yield(AIInputs(**args))
    kinds = {k: ESTIMATED for k in result.to_json() if k != "pricing"}
    if "tokens_per_second" in inputs:
        kinds["joules_per_token"] = combined_kind(inputs["tokens_per_second"].kind, inputs["watts"].kind)
    notes.append("profit counts power only: no hardware, hosting, staff or depreciation")
    return Section(inputs, result, kinds, market.label, tuple(notes))


def compute_yield(req: YieldRequest, market: MarketSnapshot, run: RunMeasurements | None = None,
                  today: date | None = None) -> YieldReport:
    """Value every section the request asks for or the run file supports; explain every section left out, and
    name the market figures used that are older than a month (`today` defaults to the date now)."""
    sections: dict[str, Section | None] = {"mining": None, "ai": None}
    notes: list[str] = list(run.notes) if run else []
    why_not: list[str] = []  # each section the run could not value, once, for the error when neither was
    for name, flags, value in (("mining", _MINING_FLAGS, partial(value_mining, today=today)),
                               ("ai", _AI_FLAGS, value_ai)):
        asked = req.given(*flags)
        supported = bool(run and (run.hashing if name == "mining" else
                                  any(t.probe == DECODE for t in run.tokens)))
        if not (asked or supported):
            why_not.append("it has no hashing benchmark" if name == "mining" else
                           "it has no tokens/s (no llm-decode probe)")
            continue
        try:
            sections[name] = value(req, market, run)
        except _Skip as skip:
            reason = f"{run.path}: {skip}" if run else str(skip)
            if asked:
                raise InputError(reason) from None
            notes.append(f"{name} section skipped: {reason}")
            why_not.append(str(skip))
    if not sections["mining"] and not sections["ai"]:
        if run:
            raise InputError(f"nothing to value in {run.path}: {'; '.join(why_not)}")
        raise InputError("nothing to value: give --hashrate/--asic for mining, --tokens-per-second/--gpu-hour-usd/"
                         "--gpu for AI, or --from-run RESULT.json")
    used = [item for section in sections.values() if section for item in section.inputs.items()]
    if note := stale_note(used, today):
        notes.append(note)  # last: after the run's own caveats
    return YieldReport(mining=sections["mining"], ai=sections["ai"], notes=tuple(dict.fromkeys(notes)))
