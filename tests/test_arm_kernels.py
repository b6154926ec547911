"""The AArch64 C paths without Arm hardware: the real kernels/*.c, cross-compiled with tests/arm_host/harness.c
into one static binary and run under qemu-aarch64 (user-mode emulation), against hashlib.

Covers what the backend suite covers on x86 for the Arm paths (portable, simd128 = NEON, arm-sha2 = the Armv8
SHA-256 instructions): real block headers, every lane/interleave remainder at both ends of the nonce space, the
exact 256-bit border, the bounded found list, and the run-time dispatch with and without the SHA2 feature.
Correctness only: emulated timings mean nothing, so nothing here is timed.

Needs aarch64-linux-gnu-gcc and qemu-aarch64 (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user,
which .ci/run installs as root); skipped with the reason where they are missing."""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import header_of

from hashbench.header import NONCE_SPACE, Header, target_words

CROSS_CC = "aarch64-linux-gnu-gcc"
CROSS_OBJDUMP = "aarch64-linux-gnu-objdump"
QEMU = "qemu-aarch64"
REPO = Path(__file__).resolve().parents[1]
KERNELS = REPO / "kernels"
HOST = Path(__file__).resolve().parent / "arm_host"
# setup.py's flags (no -march: the build stays baseline armv8-a), with warnings as errors.
CFLAGS = ["-O3", "-fno-strict-aliasing", "-Wall", "-Wno-unused-function", "-Werror"]
ARM_IMPLS = ("portable", "simd128", "arm-sha2")
SHA2_INTERLEAVE = 2  # HB_ARMSHA2_WAYS, the kernel's default
HWCAP_ASIMD, HWCAP_SHA2 = 1 << 1, 1 << 6
EVERY_NONCE = (1 << 256) - 1
DIFF1_TARGET = 0xFFFF << 208  # a difficulty-1 share: the top 32 bits of the hash zero
EXTREME_PREFIXES = {"zeros": bytes(76), "ones": b"\xff" * 76, "sign-bits": bytes([0x80, 0x7F]) * 38}


def _tools_or_skip() -> None:
    missing = [tool for tool in (CROSS_CC, CROSS_OBJDUMP, QEMU) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not found (Debian: apt-get install gcc-aarch64-linux-gnu "
                    "libc6-dev-arm64-cross qemu-user)")


def hash_int(prefix: bytes, nonce: int) -> int:
    data = prefix + struct.pack("<I", nonce)
    return int.from_bytes(hashlib.sha256(hashlib.sha256(data).digest()).digest(), "little")


def expected(prefix: bytes, target: int, start: int, count: int) -> list[int]:
    return [n for n in range(start, start + count) if hash_int(prefix, n) <= target]


def _hex(words) -> str:
    return ",".join(f"{w:x}" for w in words)


@dataclass(frozen=True)
class Scan:
    impl: str
    prefix: bytes
    target: int
    start: int
    count: int
    max_found: int = 1000

    def line(self) -> str:
        header = Header(self.prefix)
        return (f"scan {self.impl} {self.start} {self.count} {self.max_found} {_hex(header.midstate())} "
                f"{_hex(header.tail_words())} {_hex(target_words(self.target))}")


@dataclass(frozen=True)
class Harness:
    binary: Path

    def output(self, text: str, cpu: str = "max", hwcap_clear: int | None = None) -> list[str]:
        """The harness's answer lines to the commands in text, on the emulated CPU model cpu."""
        env = dict(os.environ)
        env.pop("HB_TEST_HWCAP_CLEAR", None)
        if hwcap_clear is not None:
            env["HB_TEST_HWCAP_CLEAR"] = hex(hwcap_clear)
        proc = subprocess.run([QEMU, "-cpu", cpu, str(self.binary)], input=text, capture_output=True, text=True,
                              timeout=600, env=env)
        assert proc.returncode == 0, (proc.returncode, proc.stderr)
        return proc.stdout.splitlines()

    def run(self, lines: list[str], **kwargs) -> list[str]:
        """One answer per command line."""
        out = self.output("".join(f"{x}\n" for x in lines), **kwargs)
        assert len(out) == len(lines), out
        return out

    def scan(self, scans: list[Scan], **kwargs) -> list[tuple[int, list[int]]]:
        """(total hits, listed nonces) per scan; a refusal or a write past max_found fails the test."""
        results = []
        for scan, answer in zip(scans, self.run([s.line() for s in scans], **kwargs), strict=True):
            words = answer.split()
            assert words[0] == "hits", (scan, answer)
            results.append((int(words[1]), [int(w) for w in words[2:]]))
        return results

    def dispatch(self, **kwargs) -> tuple[dict[str, bool], str | None]:
        """({impl: supported}, best impl) as dispatch.c answers on the emulated CPU."""
        supported, best = {}, None
        for answer in self.output("impls\n", **kwargs):
            kind, *rest = answer.split()
            if kind == "impl":
                supported[rest[0]] = rest[1] == "1"
            elif kind == "best":
                best = rest[0]
        return supported, best


def build(out: Path, *defines: str) -> Path:
    sources = sorted(str(p) for p in KERNELS.glob("*.c"))
    cmd = [CROSS_CC, *CFLAGS, *defines, "-static", f"-I{KERNELS}", "-Wl,--wrap=getauxval", *sources,
           str(HOST / "harness.c"), str(HOST / "hwcap_mask.c"), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    return out


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Harness:
    _tools_or_skip()
    return Harness(build(tmp_path_factory.mktemp("arm") / "harness"))


@pytest.fixture(scope="module", params=[SHA2_INTERLEAVE, 3], ids=lambda n: f"interleave{n}")
def harness_ways(request, harness, tmp_path_factory) -> tuple[Harness, int]:
    """The default build, and one with 3 nonces in flight (HB_ARMSHA2_WAYS) so the remainder logic is not tied
    to one interleave."""
    if request.param == SHA2_INTERLEAVE:
        return harness, request.param
    binary = build(tmp_path_factory.mktemp("arm3") / "harness", f"-DHB_ARMSHA2_WAYS={request.param}")
    return Harness(binary), request.param


@pytest.mark.parametrize("cpu", ["max", "neoverse-n1"])
def test_real_nonces_found_by_every_arm_path(harness, mainnet_rows, testnet_rows, cpu):
    """Real headers, a range around the real nonce, at a difficulty-1 share target and at the header's own target:
    exactly the nonces hashlib finds. neoverse-n1 is the core of Graviton2 and Ampere Altra."""
    rng = random.Random(20270301)
    rows = rng.sample(mainnet_rows, 10) + rng.sample(testnet_rows, 10)
    window = 2048
    scans, wants = [], []
    for row in rows:
        header = header_of(row)
        start = min(max(header.nonce - rng.randrange(window), 0), NONCE_SPACE - window)
        hashes = {n: hash_int(header.prefix, n) for n in range(start, start + window)}
        for target in (DIFF1_TARGET, header.target):
            want = [n for n, h in hashes.items() if h <= target]
            assert header.nonce in want, row["height"]
            for impl in ARM_IMPLS:
                scans.append(Scan(impl, header.prefix, target, start, window))
                wants.append((len(want), want))
    assert harness.scan(scans, cpu=cpu) == wants


def test_every_interleave_and_lane_remainder_at_both_ends_of_the_nonce_space(harness_ways):
    """Counts 0 .. 2*lanes+1 for the widest of the paths (simd128's 4 lanes, arm-sha2's interleave), starting at
    0, in the middle and where the range ends exactly at 2^32 - 1 (a lane or way past the end would wrap to nonce
    0, which every-nonce targets list); an easy target with many hits and misses, and every nonce a hit."""
    harness, ways = harness_ways
    rng = random.Random(ways)
    scans = []
    for name, prefix in EXTREME_PREFIXES.items():
        easy = (0x3FFFFFFF << 224) | random.Random(name).getrandbits(224)
        for count in range(2 * max(ways, 4) + 2):
            for start in (0, rng.randrange(1, NONCE_SPACE - 64), NONCE_SPACE - count):
                for target in (EVERY_NONCE, easy):
                    for impl in ARM_IMPLS:
                        scans.append(Scan(impl, prefix, target, start, count))
    got = harness.scan(scans)
    for scan, result in zip(scans, got, strict=True):
        want = expected(scan.prefix, scan.target, scan.start, scan.count)
        assert result == (len(want), want), scan


def test_target_equal_to_a_hash_is_the_exact_border(harness_ways):
    """Target = one nonce's hash (-1, 0, +1): only the full 256-bit compare after the early reject decides."""
    harness, ways = harness_ways
    rng = random.Random(99 + ways)
    scans = []
    for _ in range(12):
        prefix = rng.randbytes(76)
        start, count = rng.randrange(NONCE_SPACE - 64), rng.randrange(1, 4 * ways + 3)
        pick = start + rng.randrange(count)
        for delta in (-1, 0, 1):
            for impl in ARM_IMPLS:
                scans.append(Scan(impl, prefix, hash_int(prefix, pick) + delta, start, count))
    for scan, result in zip(scans, harness.scan(scans), strict=True):
        want = expected(scan.prefix, scan.target, scan.start, scan.count)
        assert result == (len(want), want), scan


def test_more_hits_than_slots_are_counted_not_lost(harness):
    """The bounded found list: the lowest max_found hits listed, every hit counted, nothing written past the list
    (the harness guards the slots after it)."""
    prefix = bytes(range(76))
    easy = (0x7FFFFFFF << 224) | random.Random(5).getrandbits(224)
    scans = [Scan(impl, prefix, target, start, 37, max_found)
             for impl in ARM_IMPLS for target in (EVERY_NONCE, easy) for start in (1000, NONCE_SPACE - 37)
             for max_found in (0, 1, 3, 36, 37)]
    for scan, (hits, listed) in zip(scans, harness.scan(scans), strict=True):
        want = expected(scan.prefix, scan.target, scan.start, scan.count)
        assert len(want) > 3
        assert (hits, listed) == (len(want), want[:scan.max_found]), scan


def test_an_arm_cpu_with_sha2_runs_the_sha2_path_first(harness):
    for cpu in ("max", "neoverse-n1"):
        supported, best = harness.dispatch(cpu=cpu)
        assert supported == {"portable": True, "sha-ni": False, "avx2": False, "avx512": False, "simd128": True,
                             "arm-sha2": True}, cpu
        assert best == "arm-sha2"


@pytest.mark.parametrize("clear", [HWCAP_SHA2, HWCAP_ASIMD, HWCAP_SHA2 | HWCAP_ASIMD])
def test_an_arm_cpu_without_sha2_falls_back_to_neon_and_refuses_the_path(harness, clear):
    """The kernel's AT_HWCAP without SHA2 (or without Advanced SIMD): the path is unavailable, the best is the
    NEON lanes, and a scan asking for it is refused instead of dying of SIGILL. qemu 7.2 has no CPU model without
    the SHA-256 instructions, so the bit is cleared where dispatch.c reads it (tests/arm_host/hwcap_mask.c)."""
    supported, best = harness.dispatch(hwcap_clear=clear)
    assert supported["arm-sha2"] is False and supported["simd128"] is True
    assert best == "simd128"
    scan = Scan("arm-sha2", bytes(76), EVERY_NONCE, 0, 8)
    assert harness.run([scan.line()], hwcap_clear=clear) == ["refused arm-sha2"]
    # The other paths still scan on that CPU.
    for impl in ("portable", "simd128"):
        assert harness.scan([Scan(impl, bytes(76), EVERY_NONCE, 0, 8)], hwcap_clear=clear) == [(8, list(range(8)))]


def _disassemble(source: Path, out_dir: Path) -> str:
    """objdump -d of source compiled alone with setup.py's flags (no -march)."""
    obj = out_dir / (source.stem + ".o")
    proc = subprocess.run([CROSS_CC, *CFLAGS, f"-I{KERNELS}", "-c", str(source), "-o", str(obj)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    return subprocess.run([CROSS_OBJDUMP, "-d", "--no-show-raw-insn", str(obj)], capture_output=True, text=True,
                          check=True).stdout


def _function_instructions(disasm: str, function: str) -> list[tuple[int, str, str]]:
    """(address, mnemonic, operands) of each instruction of function in objdump -d output."""
    out, inside = [], False
    for line in disasm.splitlines():
        head = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if head:
            inside = head.group(1) == function
            continue
        insn = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if inside and insn:
            out.append((int(insn.group(1), 16), insn.group(2), insn.group(3)))
    return out


def _main_loop(insns: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """The instructions of the widest backward-branching span: the per-nonce loop of a scan function."""
    spans = []
    for address, mnemonic, operands in insns:
        target = re.match(r"^([0-9a-f]+) <", operands)
        if (mnemonic == "b" or mnemonic.startswith(("b.", "cb", "tb"))) and target:
            if int(target.group(1), 16) < address:
                spans.append((int(target.group(1), 16), address))
    assert spans, "no backward branch: the scan loop was not found"
    low, high = max(spans, key=lambda span: span[1] - span[0])
    return [insn for insn in insns if low <= insn[0] <= high]


def test_the_sha2_instructions_stay_in_the_sha2_path(tmp_path):
    """Built without -march, only the arm-sha2 file may use the SHA-256 instructions (the per-function target
    attribute), and it uses all four; any other file using them would fault on a CPU without them."""
    _tools_or_skip()
    mnemonics = {"sha256h", "sha256h2", "sha256su0", "sha256su1"}
    for source in sorted(KERNELS.glob("*.c")):
        disasm = _disassemble(source, tmp_path)
        used = {line.split()[1] for line in disasm.splitlines()
                if line.startswith(" ") and len(line.split()) > 1 and line.split()[1] in mnemonics}
        assert used == (mnemonics if source.name == "sha256d_armsha2.c" else set()), source.name


# Per nonce in the arm-sha2 loop (GCC 12 -O3, interleave 2, 2026-12-01: 61 SHA256H/H2, 46 SHA256SU0/SU1,
# 213 instructions in all). 61 = 15 four-round steps of hash 1 (rounds 0-3 run once per call) + 16 of hash 2
# less its last SHA256H (only EFGH is needed for H7), each step one SHA256H and one SHA256H2.
ARMSHA2_ROUND_INSNS_PER_NONCE = 61
ARMSHA2_SCHEDULE_INSNS_PER_NONCE = 46
ARMSHA2_LOOP_INSNS_PER_NONCE_MAX = 240


def test_the_arm_sha2_loop_keeps_its_static_cost(tmp_path):
    """A static performance guard for a path no CI machine can time: the scan loop's SHA-256 round instructions
    per nonce are exactly the kernel's algebra (hoisted rounds, skipped last step; which also shows the loop found
    is the scan loop), its schedule instructions must not grow, and its whole instruction
    count per nonce stays within ~13 % of today's, so a lost precompute or a spill-heavy rewrite fails here."""
    _tools_or_skip()
    loop = _main_loop(_function_instructions(_disassemble(KERNELS / "sha256d_armsha2.c", tmp_path),
                                             "hb_scan_armsha2"))
    def per_nonce(*names: str) -> float:
        return sum(1 for _, mnemonic, _ in loop if mnemonic in names) / SHA2_INTERLEAVE

    assert per_nonce("sha256h", "sha256h2") == ARMSHA2_ROUND_INSNS_PER_NONCE
    assert per_nonce("sha256su0", "sha256su1") <= ARMSHA2_SCHEDULE_INSNS_PER_NONCE
    assert len(loop) / SHA2_INTERLEAVE <= ARMSHA2_LOOP_INSNS_PER_NONCE_MAX, len(loop) / SHA2_INTERLEAVE
