"""hashbench.kernel_stats without NVRTC: the SASS parser, the hot-loop count and the figures, on hand-written SASS.

tests/test_cuda_kernel.py runs the same code on the real kernel, but only against loose budgets (≤ 1,850 integer
instructions per nonce, ≤ 64 registers, ...): a parser that dropped a few instructions, or a count that left a cold
path in, would still pass there. Here every figure is known exactly."""

from __future__ import annotations

import sys
import types

import pytest

from hashbench import kernel_stats
from hashbench.backends.cuda_precompute import KERNEL_NAME
from hashbench.errors import BackendUnavailable, HashbenchError, InputError
from hashbench.kernel_stats import (
    Instr,
    analyze,
    analyze_cubin,
    disassemble,
    hot_loop,
    parse_sass,
    pipe_of,
    resource_usage,
)


def nvdisasm_text(function: str, lines: list[str], step: int = 0x10) -> str:
    """`lines` ("LABEL:" or "[@P] OPCODE operands") as nvdisasm -c prints them, addresses from 0 by `step`."""
    out = [f"//--------------------- .text.{function}     --------------------------",
           f"\t.section\t.text.{function},\"ax\",@progbits",
           f"        .type           {function},@function",
           f"{function}:",
           f".text.{function}:"]
    addr = 0
    for line in lines:
        if line.endswith(":"):
            out.append(line)
            continue
        pred, _, rest = line.partition(" ") if line.startswith("@") else ("", "", line)
        out.append(f"        /*{addr:04x}*/ {pred:>21} {rest} ;")
        addr += step
    return "\n".join(out) + "\n"


# A nonce loop (.L_x_9 .. the BRA back to it) holding an inner loop, three early-reject sites and a forward branch
# that skips no atomic. Site 1 is two branches to the same label (the kernel's shape: the early reject, then the
# full compare) and is one nonce; site 3 ends on the loop's own backward branch. After the loop: EXIT, then the
# compiler's trailing self-loop.
LOOP = [
    "S2R R0, SR_TID.X",                                      # 0: before the loop
    ".L_x_9:",
    *["LOP3.LUT R1, R1, R2, R3, 0x96, !PT"] * 7,              # 1..7
    "LOP3.LUT R3, R1, R2, R3, 0xe8, !PT",                    # 8
    *["SHF.R.W.U32 R2, R1, 0x6, R1"] * 6,                    # 9..14
    "IMAD R3, R1, R2, R3",                                   # 15
    *["LOP.AND R5, R5, R6"] * 2,                             # 16, 17
    "IADD3 R7, R7, R8, RZ",                                  # 18
    "VIADD R1, R1, 0x1",                                     # 19
    ".L_x_8:",
    *["IADD3 R4, R4, 0x1, RZ"] * 2,                          # 20, 21: inner loop
    "ISETP.GT.U32.AND P5, PT, R4, 0x3, PT",                  # 22
    "@!P5 BRA `(.L_x_8)",                                    # 23: inner backward branch
    "ISETP.GT.U32.AND P0, PT, R1, R2, PT",                   # 24
    "@P0 BRA `(.L_x_1)",                                     # 25: site 1, early reject
    "ULDC UR4, c[0x0][0x0]",                                 # 26 cold
    "@P1 BRA `(.L_x_1)",                                     # 27 cold: full compare, same end
    "@P6 ATOMG.E.ADD.64.STRONG.GPU PT, R4, desc[UR8][R4.64], R6",  # 28 cold
    ".L_x_1:",
    ".L_x_0:",
    "BSYNC B0",                                              # 29
    "LOP3.LUT R5, R5, R6, R7, 0xb8, !PT",                    # 30
    "@!P0 BRA.DIV UR4, `(.L_x_2)",                           # 31: skips no atomic: stays hot
    "LOP.AND R5, R5, R6",                                    # 32
    ".L_x_2:",
    "VIADD R1, R1, 0x1",                                     # 33
    "@P3 BRA `(.L_x_4)",                                     # 34: site 2
    "IMAD.MOV.U32 R6, RZ, RZ, 0x1",                          # 35 cold
    "RED.E.ADD.STRONG.GPU desc[UR8][R4.64], R6",             # 36 cold
    ".L_x_4:",
    "LDG.E R7, desc[UR8][R4.64]",                            # 37
    "@P2 BRA `(.L_x_3)",                                     # 38: site 3, the atomic right after the branch
    "RED.E.ADD.STRONG.GPU desc[UR8][R4.64], R6",             # 39 cold
    ".L_x_3:",
    "BRA `(.L_x_9)",                                         # 40: the nonce loop's backward branch
    "EXIT",                                                  # 41
    ".L_x_7:",
    "BRA `(.L_x_7)",                                         # 42
]
COLD = {26, 27, 28, 35, 36, 39}
HOT = [i for i in range(1, 41) if i not in COLD]


def loop_sass() -> str:
    """LOOP as the kernel, between another function and the symbol table, as nvdisasm prints a cubin."""
    other = nvdisasm_text("hb_other", [".L_x_50:", "IADD3 R1, R1, 0x1, RZ", "BRA `(.L_x_50)"])
    return ("\t.target\tsm_90\n\n" + other + "\n" + nvdisasm_text(KERNEL_NAME, LOOP)
            + "\n//--------------------- SYMBOLS --------------------------\n\n\t.type\t\tx,@object\n")


def ptxas_log(registers=40, stack=16, stores=12, loads=20) -> str:
    return (
        "ptxas info    : Compiling entry function 'hb_other' for 'sm_90'\n"
        "ptxas info    : Function properties for hb_other\n"
        "ptxas         .     8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads\n"
        "ptxas info    : Used 99 registers, used 0 barriers\n"
        f"ptxas info    : Compiling entry function '{KERNEL_NAME}' for 'sm_90'\n"
        f"ptxas info    : Function properties for {KERNEL_NAME}\n"
        f"ptxas         .     {stack} bytes stack frame, {stores} bytes spill stores, {loads} bytes spill loads\n"
        f"ptxas info    : Used {registers} registers, used 0 barriers\n"
    )


def test_nvdisasm_output_is_parsed_into_the_kernels_instructions_only():
    instrs = parse_sass(loop_sass())
    assert len(instrs) == 43 and [i.addr for i in instrs] == [0x10 * k for k in range(43)]
    assert instrs[0] == Instr(0, "", "S2R", "R0, SR_TID.X", None)
    assert instrs[8] == Instr(0x80, "", "LOP3.LUT", "R3, R1, R2, R3, 0xe8, !PT", None)
    assert instrs[8].root == "LOP3"
    # Branch targets come from the labels: one label, two labels on one instruction, a label on a backward branch.
    assert instrs[23] == Instr(0x170, "@!P5", "BRA", "`(.L_x_8)", 0x140)
    assert instrs[25].target == instrs[27].target == 0x1d0 and instrs[25].pred == "@P0"
    assert instrs[31] == Instr(0x1f0, "@!P0", "BRA.DIV", "UR4, `(.L_x_2)", 0x210)
    assert instrs[34].target == 0x250 and instrs[38].target == 0x280 and instrs[40].target == 0x10
    assert instrs[42].target == 0x2a0
    assert instrs[28].pred == "@P6" and instrs[28].opcode == "ATOMG.E.ADD.64.STRONG.GPU"
    assert [i.target for i in instrs if i.root != "BRA"] == [None] * 35


def test_the_function_is_found_by_its_exact_name_and_ends_at_the_next_section():
    text = loop_sass()
    assert [i.opcode for i in parse_sass(text, "hb_other")] == ["IADD3", "BRA"]
    assert parse_sass(text, "hb_other")[1].target == 0
    with pytest.raises(HashbenchError, match="no function hb_missing"):
        parse_sass(text, "hb_missing")
    with pytest.raises(HashbenchError, match=f"no function {KERNEL_NAME}_v2"):
        parse_sass(text, f"{KERNEL_NAME}_v2")
    # Only a label line names a function: `.text.NAME:` does not, nor a line that merely mentions it.
    with pytest.raises(HashbenchError):
        parse_sass(f".text.{KERNEL_NAME}:\n  /*0000*/  EXIT ;\n  call {KERNEL_NAME}:\n")


def test_directives_before_the_first_instruction_do_not_end_the_function():
    text = (f"{KERNEL_NAME}:\n\t.type x,@function\n\t.section .text.x\n//---------- x ----------\n"
            "        /*0000*/                   EXIT ;\n"
            "\t.section\t.nv.info\n        /*0010*/                   NOP ;\n")
    assert parse_sass(text) == [Instr(0, "", "EXIT", "", None)]
    for end in ("\t.type y,@function", "//--------------------- .text.y     ----------", "\t\tFunction : y"):
        text = f"{KERNEL_NAME}:\n        /*0000*/                   EXIT ;\n{end}\ny:\n  /*0010*/  NOP ;\n"
        assert [i.opcode for i in parse_sass(text)] == ["EXIT"], end


def test_cuobjdump_output_with_hex_branch_targets():
    text = """
\tcode for sm_90
\t\tFunction : hb_other
\t.headerflags\t@"EF_CUDA_SM90 EF_CUDA_VIRTUAL_SM(EF_CUDA_SM90)"
        /*0000*/                   EXIT ;                                   /* 0x000000000000794d */
\t\t..........


\t\tFunction : hb_sha256d_scan
\t.headerflags\t@"EF_CUDA_SM90 EF_CUDA_VIRTUAL_SM(EF_CUDA_SM90)"
        /*0000*/                   LDC R1, c[0x0][0x28] ;                   /* 0x00000a00ff017b82 */
                                                                            /* 0x000fe40000000800 */
        /*0010*/               @P0 BRA 0x40 ;                               /* 0x0000000000000947 */
        /*0020*/              @!UP1 BRA `(.L_x_77) ;
        /*0030*/               @PT BRA 0x10 ;
        /*0040*/                   EXIT ;
\t\t..........


\t\tFunction : hb_third
        /*0000*/                   NOP ;
"""
    instrs = parse_sass(text)
    assert [(i.addr, i.pred, i.opcode, i.target) for i in instrs] == [
        (0x00, "", "LDC", None), (0x10, "@P0", "BRA", 0x40), (0x20, "@!UP1", "BRA", None),  # an unknown label
        (0x30, "@PT", "BRA", 0x10), (0x40, "", "EXIT", None)]
    assert instrs[0].operands == "R1, c[0x0][0x28]" and instrs[1].operands == "0x40"


def test_hot_loop_leaves_out_each_early_reject_site_and_counts_one_nonce_per_site():
    instrs = parse_sass(loop_sass())
    hot, per_iteration = hot_loop(instrs)
    assert per_iteration == 3
    assert hot == [instrs[k] for k in HOT]


def test_a_forward_branch_out_of_the_loop_or_an_unconditional_one_is_no_early_reject():
    body = ["@P3 BRA `(.L_x_9)",                          # 0: before the loop, over an atomic: not a site
            "RED.E.ADD.STRONG.GPU desc[UR8][R2.64], R3",  # 1
            ".L_x_9:", "ISETP.GT.U32.AND P0, PT, R1, R2, PT",  # 2
            "@P0 BRA `(.L_x_5)",                          # 3: leaves the loop, over the atomic: not a site
            "BRA `(.L_x_1)",                              # 4: unconditional: what it skips never runs
            "ATOMG.E.ADD.STRONG.GPU PT, R4, desc[UR8][R4.64], R6",  # 5
            ".L_x_1:",
            "@P1 BRA `(.L_x_2)",                          # 6: the one site
            "RED.E.ADD.STRONG.GPU desc[UR8][R4.64], R6",  # 7
            ".L_x_2:",
            "@P2 RED.E.ADD.STRONG.GPU desc[UR8][R6.64], R6",  # 8: an atomic every nonce may run, then
            "@P4 BRA `(.L_x_3)",                          # 9: a branch that skips none: not a site
            "IADD3 R1, R1, 0x1, RZ",                      # 10
            ".L_x_3:",
            "BRA `(.L_x_9)",                              # 11
            ".L_x_5:",
            "EXIT"]
    instrs = parse_sass(nvdisasm_text(KERNEL_NAME, body))
    hot, per_iteration = hot_loop(instrs)
    assert per_iteration == 1 and hot == [instrs[k] for k in (2, 3, 4, 5, 6, 8, 9, 10, 11)]


def test_hot_loop_needs_a_loop_and_an_early_reject():
    with pytest.raises(HashbenchError, match="^no loop found in the kernel's SASS$"):
        hot_loop(parse_sass(nvdisasm_text(KERNEL_NAME, ["@P0 BRA `(.L_x_1)", "ATOMG.E.ADD PT, R4, [R4], R6",
                                                        ".L_x_1:", "EXIT"])))
    # A backward branch to an address outside the function is no loop either.
    with pytest.raises(HashbenchError, match="no loop"):
        hot_loop([Instr(0x100, "", "BRA", "0x40", 0x40), Instr(0x110, "", "EXIT", "", None)])
    with pytest.raises(HashbenchError, match="^no early-reject branch around the hit recording found in the loop$"):
        hot_loop(parse_sass(nvdisasm_text(KERNEL_NAME, [".L_x_9:", "@P0 BRA `(.L_x_1)", "IADD3 R1, R1, 1, RZ",
                                                        ".L_x_1:", "BRA `(.L_x_9)"])))


@pytest.mark.parametrize("opcode, pipe", [
    ("IMAD.WIDE.U32", "fma"), ("IMUL", "fma"), ("FFMA", "fma"), ("HFMA2.MMA", "fma"),
    ("BRA", "control"), ("EXIT", "control"), ("BSSY", "control"), ("BSYNC", "control"), ("NOP", "control"),
    ("LDG.E", "memory"), ("LDC.64", "memory"), ("STG.E", "memory"), ("ATOMG.E.ADD", "memory"),
    ("RED.E.ADD", "memory"), ("MEMBAR.SC.GPU", "memory"), ("CCTL.IVALL", "memory"),
    ("ULDC.64", "uniform"), ("UIADD3", "uniform"), ("R2UR", "uniform"), ("S2UR", "uniform"), ("VOTEU.ANY", "uniform"),
    ("LOP3.LUT", "alu"), ("SHF.R.W.U32", "alu"), ("IADD3", "alu"), ("PRMT", "alu"), ("ISETP.GT.U32.AND", "alu"),
    ("VIADD", "alu"), ("S2R", "alu"), ("VOTE.ANY", "alu"), ("SHFL.IDX", "alu"),
])
def test_pipe_of_each_opcode(opcode, pipe):
    assert pipe_of(Instr(0, "", opcode, "", None)) == pipe


def test_resource_usage_reads_the_kernels_own_section():
    assert resource_usage(ptxas_log()) == (40, 32, 16)  # spills: stores + loads
    assert resource_usage(ptxas_log(), "hb_other") == (99, 8, 8)
    # A kernel whose name starts with ours is not ours, before it in the log or after it.
    v2 = ptxas_log().replace(KERNEL_NAME, f"{KERNEL_NAME}_v2").replace("hb_other", KERNEL_NAME)
    assert resource_usage(v2) == (99, 8, 8) and resource_usage(v2, f"{KERNEL_NAME}_v2") == (40, 32, 16)
    v2_first = ptxas_log().replace(KERNEL_NAME, "hb_tmp").replace("hb_other", f"{KERNEL_NAME}_v2")
    assert resource_usage(v2_first.replace("hb_tmp", KERNEL_NAME)) == (40, 32, 16)
    with pytest.raises(HashbenchError, match="^ptxas reported no resource usage for hb_missing$"):
        resource_usage(ptxas_log(), "hb_missing")
    # Nor does a figure missing from our section come from the next function's.
    with pytest.raises(HashbenchError):
        resource_usage(v2.replace("Used 99 registers", "?"))
    good = ptxas_log()
    for missing in ("Used 40 registers", "16 bytes stack frame", "12 bytes spill stores", "20 bytes spill loads"):
        with pytest.raises(HashbenchError, match=f"^ptxas reported no resource usage for {KERNEL_NAME}$"):
            resource_usage(good.replace(missing, "?"))


@pytest.mark.parametrize("defines, recorded", [(None, {}), ({"HB_BLOCK": "128"}, {"HB_BLOCK": "128"})])
def test_analyze_cubin_counts_per_nonce(monkeypatch, defines, recorded):
    seen = []
    monkeypatch.setattr(kernel_stats, "disassemble", lambda cubin: seen.append(cubin) or (loop_sass(), "cuobjdump"))
    stats = analyze_cubin("sm_90", b"\x7fELF cubin", ptxas_log(), defines)
    assert seen == [b"\x7fELF cubin"]
    # Hot: 9 LOP3 + 6 SHF + 3 IADD3 + 3 LOP + 2 VIADD + 2 ISETP = 25 integer-pipe, 1 IMAD, 1 LDG, 6 BRA + BSYNC;
    # 34 in all, over 3 nonces.
    assert stats.to_json() == {
        "arch": "sm_90",
        "instructions_per_nonce": 8.33,
        "registers": 40,
        "spills": 32,
        "sass_instructions_per_nonce": 11.33,
        "fma_pipe_per_nonce": 0.33,
        "nonces_per_iteration": 3,
        "stack_bytes": 16,
        "lop3": 3,
        "lop": 1,
        "shf": 2,
        "iadd3": 1,
        "lop3_luts": {"0x96": 7, "0xe8": 1, "0xb8": 1},
        "opcodes": {"LOP3": 9, "SHF": 6, "BRA": 6, "IADD3": 3, "LOP": 3, "ISETP": 2, "VIADD": 2, "IMAD": 1,
                    "BSYNC": 1, "LDG": 1},
        "defines": recorded,
        "disassembler": "cuobjdump",
    }


@pytest.mark.parametrize("arch", ["sm_90", "sm_80", "sm_90a", "sm_100", "sm_120f"])
def test_analyze_compiles_the_kernel_for_a_valid_architecture(monkeypatch, arch):
    from hashbench.backends.cuda_build import kernel_source

    compiles = []

    def compile_with_nvrtc(source, arch, defines):
        compiles.append((source, arch, defines))
        return b"\x7fELF", ptxas_log()

    monkeypatch.setattr(kernel_stats, "compile_with_nvrtc", compile_with_nvrtc)
    disassembled = []
    monkeypatch.setattr(kernel_stats, "disassemble", lambda cubin: disassembled.append(cubin) or (loop_sass(), "nv"))
    stats = analyze(arch, {"HB_BLOCK": "64"})
    assert compiles == [(kernel_source(), arch, {"HB_BLOCK": "64"})] and disassembled == [b"\x7fELF"]
    assert (stats.arch, stats.registers, stats.nonces_per_iteration, stats.defines) == (arch, 40, 3, {"HB_BLOCK": "64"})
    assert kernel_stats.kernel_stats(arch) == {**stats.to_json(), "defines": {}}
    assert kernel_stats.kernel_stats(arch, {"HB_BLOCK": "64"}) == stats.to_json()
    assert compiles[1:] == [(kernel_source(), arch, None), (kernel_source(), arch, {"HB_BLOCK": "64"})]


@pytest.mark.parametrize("arch", ["sm90", "sm_9", "sm_1000", "sm_90ab", "SM_90", "compute_90", "sm_90 ", "xsm_90"])
def test_analyze_refuses_an_architecture_before_compiling(monkeypatch, arch):
    monkeypatch.setattr(kernel_stats, "compile_with_nvrtc", lambda *a: pytest.fail("compiled"))
    with pytest.raises(InputError, match="architecture must look like sm_90"):
        analyze(arch)


def test_an_architecture_nvrtc_does_not_compile_for_or_an_unknown_switch_is_one_line(monkeypatch):
    """sm_95 ended in NVRTC's three-line "invalid value for --gpu-architecture", exit 1; HB_NOPE=1 built the default
    kernel without a word, its figures looking like a measured switch's."""
    from hashbench.backends import cuda_build

    try:
        from cuda.bindings import nvrtc

        err, archs = nvrtc.nvrtcGetSupportedArchs()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no NVRTC here ({type(exc).__name__})")
    monkeypatch.setattr(kernel_stats, "compile_with_nvrtc", lambda *a: pytest.fail("compiled"))
    assert 95 not in archs and 90 in archs
    major, minor = cuda_build.nvrtc_version()
    with pytest.raises(InputError) as info:
        analyze("sm_95")
    assert str(info.value) == (f"NVRTC {major}.{minor} compiles for {', '.join(f'sm_{a}' for a in archs)}; "
                               "not sm_95")
    source = cuda_build.kernel_source()
    assert cuda_build.kernel_switches(source) == ["HB_BLOCK", "HB_MIN_BLOCKS", "HB_SHR_ON_FMA", "HB_ROT_ON_FMA"]
    with pytest.raises(InputError) as info:
        cuda_build.compile_with_nvrtc(source, "sm_90", {"HB_NOPE": "1", "HB_BLOCK": "128", "A": "2"})
    assert str(info.value) == ("kernel build switch A, HB_NOPE: sha256d.cu has HB_BLOCK, HB_MIN_BLOCKS, "
                               "HB_SHR_ON_FMA, HB_ROT_ON_FMA")


def fake_tool(tmp_path, name: str, rc: int = 0) -> str:
    """A stand-in disassembler: prints its name, its flags and the file it was given; exits with `rc`."""
    path = tmp_path / name
    path.write_text(f'#!/bin/sh\necho "{name} $1"\ncat "$2"\nexit {rc}\n')
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("tools, expected", [
    ({"nvdisasm": 0, "cuobjdump": 0}, ("nvdisasm -c\ncubin", "nvdisasm")),
    ({"nvdisasm": 1, "cuobjdump": 0}, ("cuobjdump -sass\ncubin", "cuobjdump")),  # nvdisasm fails: the other
    ({"cuobjdump": 0}, ("cuobjdump -sass\ncubin", "cuobjdump")),
])
def test_disassemble_uses_nvdisasm_else_cuobjdump(tmp_path, monkeypatch, tools, expected):
    found = {name: fake_tool(tmp_path, name, rc) for name, rc in tools.items()}
    monkeypatch.setattr(kernel_stats, "_find_tool", found.get)
    assert disassemble(b"cubin") == expected


def test_disassemble_without_a_working_tool(tmp_path, monkeypatch):
    found = {"nvdisasm": fake_tool(tmp_path, "nvdisasm", 1), "cuobjdump": fake_tool(tmp_path, "cuobjdump", 2)}
    monkeypatch.setattr(kernel_stats, "_find_tool", found.get)
    message = r"^no SASS disassembler found: pip install nvidia-cuda-nvdisasm \(or nvidia-cuda-cuobjdump\)$"
    with pytest.raises(BackendUnavailable, match=message):
        disassemble(b"cubin")
    monkeypatch.setattr(kernel_stats, "_find_tool", lambda name: None)
    with pytest.raises(BackendUnavailable, match=message):
        disassemble(b"cubin")


def _pathfinder(monkeypatch, finder) -> None:
    module = types.ModuleType("cuda.pathfinder")
    module.find_nvidia_binary_utility = finder
    monkeypatch.setitem(sys.modules, "cuda.pathfinder", module)


def _raises(name):
    raise RuntimeError(f"{name}: not a supported utility")


@pytest.mark.parametrize("finder, expected", [
    (lambda name: f"/wheel/bin/{name}", "/wheel/bin/nvdisasm"),  # the wheel's copy first
    (lambda name: None, "/usr/bin/nvdisasm"),                   # not in a wheel: PATH
    (_raises, "/usr/bin/nvdisasm"),                             # the finder fails: PATH
    (None, "/usr/bin/nvdisasm"),                                # no cuda-pathfinder: PATH
])
def test_find_tool_asks_cuda_pathfinder_then_path(monkeypatch, finder, expected):
    if finder is None:
        monkeypatch.setitem(sys.modules, "cuda.pathfinder", None)  # import fails
    else:
        _pathfinder(monkeypatch, finder)
    monkeypatch.setattr(kernel_stats.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert kernel_stats._find_tool("nvdisasm") == expected
    monkeypatch.setattr(kernel_stats.shutil, "which", lambda name: None)
    assert kernel_stats._find_tool("nvdisasm") == (expected if expected.startswith("/wheel") else None)
