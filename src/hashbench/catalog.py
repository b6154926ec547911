"""Hardware catalogs shipped as data: ASICs and GPUs at manufacturer nameplate, and published AI throughputs.

Each row names its source. Nameplate is what the maker promises, not what a unit on a given site does: a
measurement (`hashbench run`) or a declared figure always wins over it where the caller has one."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .errors import InputError


@dataclass(frozen=True)
class Asic:
    model: str
    vendor: str
    hashrate_ths: float
    watts: float  # at the wall
    j_per_th: float
    cooling: str
    source: str
    provenance: str
    note: str

    @property
    def hashrate_hps(self) -> float:
        return self.hashrate_ths * 1e12

    def to_json(self) -> dict:
        return {"model": self.model, "vendor": self.vendor, "hashrate_ths": self.hashrate_ths, "watts": self.watts,
                "j_per_th": self.j_per_th, "cooling": self.cooling, "source": self.source,
                "provenance": self.provenance, "note": self.note}


@dataclass(frozen=True)
class Gpu:
    model: str
    vendor: str
    tdp_w: float  # board power limit: the GPU alone, not its host
    memory_gb: float
    memory_type: str
    bandwidth_tbs: float
    form_factor: str
    source: str
    provenance: str
    note: str

    def to_json(self) -> dict:
        return {"model": self.model, "vendor": self.vendor, "tdp_w": self.tdp_w, "memory_gb": self.memory_gb,
                "memory_type": self.memory_type, "bandwidth_tbs": self.bandwidth_tbs,
                "form_factor": self.form_factor, "source": self.source, "provenance": self.provenance,
                "note": self.note}


@dataclass(frozen=True)
class ThroughputRef:
    """A published inference throughput for one GPU and one model class (per GPU, output tokens/s)."""

    gpu: str
    model_class: str
    dtype: str
    tokens_per_second: float
    low: float | None
    high: float | None
    source: str
    provenance: str
    note: str


# Plausibility floors for figures a person types (site files, `yield` flags): below them the figure is a unit slip,
# not hardware.
# The best SHA-256 machine announced draws 9.5 J/TH (this catalog's S23 Hyd); a tenth of that is beyond any roadmap,
# so a declared unit under it is a unit slip (H/s typed as TH/s, kW typed as W), not a miner.
MIN_J_PER_TH = 1.0
# Nothing that hashes SHA-256 is this wasteful, a CPU hashing in Python included (about 1 MH/s on 65 W: 6.5e7 J/TH):
# a hashrate typed without its prefix (200 for 200T) or watts typed in mW.
MAX_J_PER_TH = 1e10
# Bitcoin's difficulty passed 1 T at block 485,856 (2017-09-18, in the shared mainnet headers) and has not been below
# it since: a typed difficulty under it is a count without its prefix (152 for 152T), not a market to value.
MIN_DIFFICULTY = 1e12
# The catalog's smallest board power is 350 W (H100 PCIe, configurable down to 300 W; L40S), and the smallest
# datacenter inference cards draw about 70 W at full load (L4 72 W, T4 70 W). 50 W per GPU at full load is below all
# of them, and above any figure in kW typed as W (0.35 for an H100 PCIe, 1.275 for a DGX node's share), which would
# otherwise value a fleet drawing a thousandth of its power.
MIN_GPU_WATTS = 50.0
# Idle, the same boards draw tens of watts (an H100 about 60-70 W, an L4 or T4 about 10-16 W); 5 W per GPU is below
# all of them and above an idle figure typed in kW (0.07 for an H100).
MIN_GPU_IDLE_WATTS = 5.0


def check_difficulty(difficulty: float, flag: str, typed: str | None = None) -> None:
    """A typed difficulty (or one from a typed network hashrate, `typed` saying how it was written) below
    MIN_DIFFICULTY is refused as a unit slip."""
    if 0 < difficulty < MIN_DIFFICULTY:
        said = (f"{flag} {typed} is a difficulty of {difficulty:.3g}," if typed else f"{flag} {difficulty:g} is")
        raise InputError(f"{said} below 1 T: Bitcoin's has been above that since block 485,856 (2017); "
                         + ("--network-hashrate is H/s (1.1Z for 1.1 ZH/s)" if typed else
                            f"write it with its prefix ({difficulty:g}T for {difficulty:g} trillion)"))


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("hashbench").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _opt(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def asics() -> tuple[Asic, ...]:
    return tuple(Asic(model=r["model"], vendor=r["vendor"], hashrate_ths=float(r["hashrate_ths"]),
                      watts=float(r["watts"]), j_per_th=float(r["j_per_th"]), cooling=r["cooling"],
                      source=r["source"], provenance=r["provenance"], note=r["note"]) for r in _rows("asics.csv"))


@cache
def gpus() -> tuple[Gpu, ...]:
    return tuple(Gpu(model=r["model"], vendor=r["vendor"], tdp_w=float(r["tdp_w"]), memory_gb=float(r["memory_gb"]),
                     memory_type=r["memory_type"], bandwidth_tbs=float(r["bandwidth_tbs"]),
                     form_factor=r["form_factor"], source=r["source"], provenance=r["provenance"], note=r["note"])
                 for r in _rows("gpus.csv"))


@cache
def throughput_refs() -> tuple[ThroughputRef, ...]:
    return tuple(ThroughputRef(gpu=r["gpu"], model_class=r["model_class"], dtype=r["dtype"],
                               tokens_per_second=float(r["tokens_per_second"]), low=_opt(r["low"]),
                               high=_opt(r["high"]), source=r["source"], provenance=r["provenance"], note=r["note"])
                 for r in _rows("ai-throughput.csv"))


def _key(name: str) -> str:
    # "Antminer S21 XP", "s21xp", "S21-XP" are one model; "+" stays significant (M66S vs M66S+). Bitmain writes its
    # water-cooled models "Hyd" and people write "hydro": one model.
    return re.sub(r"[^a-z0-9+]", "", name.lower()).replace("hydro", "hyd")


def _keys_of(model: str, brands: tuple[str, ...], lines: tuple[str, ...] = ()) -> set[str]:
    """The keys a model is found by: its name, without the product-line word it starts with ("S21" for "Antminer
    S21"), and each of those after a brand word people put first ("Bitmain Antminer S21", "NVIDIA GeForce RTX 4090",
    as nvidia-smi names that card)."""
    names = {model} | {model[len(w) + 1:] for w in lines if model.lower().startswith(w.lower() + " ")}
    return {_key(f"{brand} {name}") for brand in ("", *brands) for name in names}


def find_asic(name: str) -> Asic:
    """Exact match up to case, spaces, hyphens and the brand words ("S21 XP" is "Bitmain Antminer S21 XP")."""
    wanted = _key(name)
    for a in asics():
        if wanted in _keys_of(a.model, (a.vendor,), ("Antminer", "Whatsminer")):
            return a
    raise InputError(f"unknown ASIC {name!r}; known: {', '.join(a.model for a in asics())}")


def find_gpu(name: str) -> Gpu:
    wanted = _key(name)
    for g in gpus():
        if wanted in _keys_of(g.model, (g.vendor, "GeForce", f"{g.vendor} GeForce")):
            return g
    raise InputError(f"unknown GPU {name!r}; known: {', '.join(g.model for g in gpus())}")


def reference_throughput(gpu: str, model_class: str) -> ThroughputRef | None:
    """The published per-GPU throughput for a catalog GPU and a model class, if the catalog has one."""
    for ref in throughput_refs():
        if ref.gpu == gpu and ref.model_class == model_class:
            return ref
    return None
