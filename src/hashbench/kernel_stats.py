"""Static performance figures of the CUDA kernel, from its SASS: no GPU needed.

`kernel_stats("sm_90")` compiles kernels/sha256d.cu with NVRTC for that architecture, reads
registers and spills from ptxas's report, disassembles the cubin (nvdisasm, else cuobjdump; both
come as wheels: nvidia-cuda-nvdisasm, nvidia-cuda-cuobjdump) and counts the steady-state loop.

How the loop is counted:
- the nonce loop is the backward branch with the widest span in the kernel;
- inside it, the cold path is the code a conditional forward branch skips when that code holds
  the hit counter's atomic: the early reject jumps over it for all but ~2^-32 of the nonces, so
  it is left out; each such region is one early-reject site, i.e. one nonce, so their number is
  the nonces per iteration;
- what remains is what every nonce executes; divided by the nonces per iteration.

`instructions_per_nonce` counts the instructions that issue to the integer/logic pipe (SHF, LOP3,
IADD3, PRMT, ISETP, ...): that pipe bounds the hash rate, 64 results per SM per clock on
sm_80/sm_90, and it is what the reference figures count (≈1,780 per nonce → 9–10 GH/s on an
H100). The adds that run on the IMAD pipe beside it are reported as `fma_pipe_per_nonce`, and
every instruction as `sass_instructions_per_nonce`. VIADD is counted on the integer pipe: NVIDIA
does not document its pipe, and the guard should not depend on a guess in its favour.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .backends.cuda_build import check_arch, compile_with_nvrtc, kernel_source
from .backends.cuda_precompute import KERNEL_NAME
from .errors import BackendUnavailable, HashbenchError

FMA_PIPE = frozenset({"IMAD", "IMUL", "FFMA", "FMUL", "FADD", "HFMA2", "HADD2", "HMUL2"})
CONTROL = frozenset({"BRA", "BRX", "JMP", "EXIT", "RET", "CALL", "BSSY", "BSYNC", "WARPSYNC", "NOP",
                     "BAR", "YIELD", "BPT"})
MEMORY_PREFIXES = ("LD", "ST", "ATOM", "RED", "CCTL", "MEMBAR")
ATOMIC_PREFIXES = ("ATOM", "RED")


@dataclass(frozen=True)
class Instr:
    addr: int
    pred: str  # "" or the guard predicate, e.g. "@!P0"
    opcode: str  # with modifiers, e.g. "LOP3.LUT"
    operands: str
    target: int | None  # branch target address

    @property
    def root(self) -> str:
        return self.opcode.split(".")[0]


@dataclass(frozen=True)
class KernelStats:
    arch: str
    instructions_per_nonce: float  # integer/logic pipe, see the module docstring
    registers: int
    spills: int  # spill stores + spill loads, bytes
    sass_instructions_per_nonce: float
    fma_pipe_per_nonce: float
    nonces_per_iteration: int
    stack_bytes: int
    lop3: int  # per nonce, in the hot loop
    lop: int  # plain two-input LOP: should be 0, every logic op a LOP3
    shf: int
    iadd3: int
    lop3_luts: dict[str, int] = field(default_factory=dict)  # 0x96 = 3-way XOR, 0xe8 = Maj, ...
    opcodes: dict[str, int] = field(default_factory=dict)
    defines: dict[str, str] = field(default_factory=dict)
    disassembler: str = ""

    def to_json(self) -> dict:
        return asdict(self)


_INSTR = re.compile(r"^\s*/\*([0-9a-f]{4,})\*/\s+(@!?U?P[0-9T]\s+)?([A-Z][A-Z0-9_.]*)\s*(.*?)\s*;")
_LABEL = re.compile(r"^\s*(\.L_[A-Za-z0-9_]+):")
_TARGET_LABEL = re.compile(r"`?\((\.L_[A-Za-z0-9_]+)\)")
_TARGET_ADDR = re.compile(r"\b0x([0-9a-f]+)\b")
_BRANCHES = frozenset({"BRA", "BRX", "JMP"})


def parse_sass(text: str, function: str = KERNEL_NAME) -> list[Instr]:
    """The instructions of `function` from nvdisasm or cuobjdump -sass output."""
    lines = text.splitlines()
    begin = None
    for i, line in enumerate(lines):
        if (re.match(rf"^\s*{re.escape(function)}:", line)
                or re.search(rf"Function\s*:\s*{re.escape(function)}\s*$", line)):
            begin = i + 1
            break
    if begin is None:
        raise HashbenchError(f"the disassembly has no function {function}")
    raw, labels, pending = [], {}, []
    for line in lines[begin:]:
        if raw and (line.lstrip().startswith((".section", "Function :", ".type")) or re.match(r"^\s*//-{5,}", line)):
            break
        m = _LABEL.match(line)
        if m:
            pending.append(m.group(1))
            continue
        m = _INSTR.match(line)
        if m:
            addr = int(m.group(1), 16)
            for name in pending:
                labels[name] = addr
            pending = []
            raw.append((addr, (m.group(2) or "").strip(), m.group(3), m.group(4)))
    out = []
    for addr, pred, opcode, operands in raw:
        target = None
        if opcode.split(".")[0] in _BRANCHES:
            lab = _TARGET_LABEL.search(operands)
            if lab and lab.group(1) in labels:
                target = labels[lab.group(1)]
            else:
                hexa = _TARGET_ADDR.search(operands)
                target = int(hexa.group(1), 16) if hexa else None
        out.append(Instr(addr, pred, opcode, operands, target))
    return out


def hot_loop(instrs: list[Instr]) -> tuple[list[Instr], int]:
    """(instructions every nonce executes in one iteration, nonces per iteration)."""
    index = {ins.addr: i for i, ins in enumerate(instrs)}
    loops = [(index[ins.target], i) for i, ins in enumerate(instrs)
             if ins.root in _BRANCHES and ins.target is not None and ins.target <= ins.addr and ins.target in index]
    if not loops:
        raise HashbenchError("no loop found in the kernel's SASS")
    head, tail = max(loops, key=lambda span: span[1] - span[0])
    regions = []
    for i in range(head, tail):
        ins = instrs[i]
        if ins.root in _BRANCHES and ins.pred and ins.target in index:
            j = index[ins.target]
            if i < j <= tail and any(instrs[k].root.startswith(ATOMIC_PREFIXES) for k in range(i + 1, j)):
                regions.append((i + 1, j))
    outermost = [r for r in regions if not any(o != r and o[0] <= r[0] and r[1] <= o[1] for o in regions)]
    if not outermost:
        raise HashbenchError("no early-reject branch around the hit recording found in the loop")
    cold = {k for a, b in outermost for k in range(a, b)}
    return [instrs[k] for k in range(head, tail + 1) if k not in cold], len(outermost)


def pipe_of(ins: Instr) -> str:
    root = ins.root
    if root in FMA_PIPE:
        return "fma"
    if root in CONTROL:
        return "control"
    if root.startswith(MEMORY_PREFIXES):
        return "memory"
    if root.startswith("U") or root in ("R2UR", "S2UR", "VOTEU"):
        return "uniform"
    return "alu"


def _find_tool(name: str) -> str | None:
    try:
        from cuda.pathfinder import find_nvidia_binary_utility
    except ImportError:
        find_nvidia_binary_utility = None
    if find_nvidia_binary_utility is not None:
        try:
            found = find_nvidia_binary_utility(name)
        except Exception:  # an unsupported name or a broken install: fall back to PATH
            found = None
        if found:
            return found
    return shutil.which(name)


def disassemble(cubin: bytes) -> tuple[str, str]:
    """(SASS text, tool used)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sha256d.cubin"
        path.write_bytes(cubin)
        for tool, args in (("nvdisasm", ["-c"]), ("cuobjdump", ["-sass"])):
            exe = _find_tool(tool)
            if exe:
                done = subprocess.run([exe, *args, str(path)], capture_output=True, text=True, check=False)
                if done.returncode == 0:
                    return done.stdout, tool
    raise BackendUnavailable("no SASS disassembler found: pip install nvidia-cuda-nvdisasm (or nvidia-cuda-cuobjdump)")


def resource_usage(log: str, function: str = KERNEL_NAME) -> tuple[int, int, int]:
    """(registers, spill bytes, stack frame bytes) of `function` from ptxas -v output.

    The section is the function's own, by its whole name (hb_sha256d_scan_v2's is not hb_sha256d_scan's), up to the
    next function's."""
    header = re.search(rf"Function properties for {re.escape(function)}[ \t]*$", log, re.MULTILINE)
    section = ""
    if header:
        section = log[header.end():].split("Function properties for ")[0]
    regs = re.search(r"Used (\d+) registers", section)
    stack = re.search(r"(\d+) bytes stack frame", section)
    stores = re.search(r"(\d+) bytes spill stores", section)
    loads = re.search(r"(\d+) bytes spill loads", section)
    if not (regs and stack and stores and loads):
        raise HashbenchError(f"ptxas reported no resource usage for {function}")
    return int(regs.group(1)), int(stores.group(1)) + int(loads.group(1)), int(stack.group(1))


def analyze(arch: str, defines: Mapping[str, str] | None = None) -> KernelStats:
    check_arch(arch)
    cubin, log = compile_with_nvrtc(kernel_source(), arch, defines)
    return analyze_cubin(arch, cubin, log, defines)


def analyze_cubin(arch: str, cubin: bytes, log: str, defines: Mapping[str, str] | None = None) -> KernelStats:
    """Stats of an already compiled kernel (`log` is ptxas -v output from the same compile)."""
    registers, spills, stack = resource_usage(log)
    sass, tool = disassemble(cubin)
    hot, per_iter = hot_loop(parse_sass(sass))
    pipes = Counter(pipe_of(ins) for ins in hot)
    roots = Counter(ins.root for ins in hot)
    luts = Counter(ins.operands.split(",")[-2].strip() for ins in hot if ins.opcode.startswith("LOP3.LUT"))

    def per_nonce(n: int) -> float:
        return round(n / per_iter, 2)

    return KernelStats(
        arch=arch,
        instructions_per_nonce=per_nonce(pipes["alu"]),
        registers=registers,
        spills=spills,
        sass_instructions_per_nonce=per_nonce(len(hot)),
        fma_pipe_per_nonce=per_nonce(pipes["fma"]),
        nonces_per_iteration=per_iter,
        stack_bytes=stack,
        lop3=round(roots["LOP3"] / per_iter),
        lop=round(roots["LOP"] / per_iter),
        shf=round(roots["SHF"] / per_iter),
        iadd3=round(roots["IADD3"] / per_iter),
        lop3_luts=dict(luts.most_common()),
        opcodes=dict(roots.most_common()),
        defines=dict(defines or {}),
        disassembler=tool,
    )


def kernel_stats(arch: str, defines: Mapping[str, str] | None = None) -> dict:
    """{"arch", "instructions_per_nonce", "registers", "spills", ...}: see KernelStats."""
    return analyze(arch, defines).to_json()
