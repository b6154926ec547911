"""The cuda and pycuda backends on a real GPU: the checks every CPU backend passes, plus the GPU's own
(full-range batches, the device hit list overflowing, kernel resources). Skipped, with the reason,
where there is no GPU, driver or launcher package."""

from __future__ import annotations

import random

import pytest
from conftest import header_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashbench.backends.base import ScanJob
from hashbench.backends.cuda import CudaBackend
from hashbench.backends.cuda_launch import CAPACITY
from hashbench.backends.pycuda import PycudaBackend
from hashbench.header import NONCE_SPACE, Header, hash_int

pytestmark = pytest.mark.gpu

_BACKENDS = [CudaBackend(), PycudaBackend()]


def _params():
    out = []
    for backend in _BACKENDS:
        ok, why = backend.available()
        out.append(pytest.param(backend, id=backend.name, marks=[] if ok else [pytest.mark.skip(reason=why)]))
    return out


@pytest.fixture(scope="module", params=_params())
def gpu(request):
    request.param.warm_up(request.param.default_impl())
    return request.param


def reference(header: Header, target: int, start: int, count: int) -> list[int]:
    return [n for n in range(start, start + count) if hash_int(header, n) <= target]


def scan(backend, header, target, start, count, max_found=1024):
    return backend.scan(ScanJob(header, target), start, count, max_found=max_found)


def test_real_mainnet_and_testnet_nonces_found(gpu, mainnet_rows, testnet_rows):
    rng = random.Random(20261122)
    window = 1 << 22
    for row in rng.sample(mainnet_rows, 24) + rng.sample(testnet_rows, 24):
        header = header_of(row)
        start = min(max(header.nonce - rng.randrange(window), 0), NONCE_SPACE - window)
        result = scan(gpu, header, header.target, start, window)
        assert [(s.nonce, s.hash) for s in result.found] == [(header.nonce, row["block_hash"])], row["height"]
        assert result.hits == 1


def test_whole_nonce_space_of_a_real_header(gpu, mainnet_rows):
    """Four full 2^30 batches: every reported share is confirmed by hashlib inside scan()."""
    row = mainnet_rows[-1]
    header = header_of(row)
    result = scan(gpu, header, header.target, 0, NONCE_SPACE)
    assert header.nonce in [s.nonce for s in result.found]
    assert result.hashes == NONCE_SPACE and result.hits == len(result.found)
    assert all(t > 0 for t in gpu.gpu_seconds())


def test_nothing_reported_without_a_hit(gpu, mainnet_rows):
    header = header_of(mainnet_rows[-1])
    start = header.nonce + 1 if header.nonce < NONCE_SPACE - (1 << 24) - 1 else header.nonce - (1 << 24)
    result = scan(gpu, header, header.target, start, 1 << 24)
    assert result.found == [] and result.hits == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.binary(min_size=76, max_size=76), start=st.integers(0, NONCE_SPACE - 1),
       count=st.integers(1, 700), top=st.sampled_from([0x00FFFFFF, 0x0FFFFFFF, 0x3FFFFFFF, 0xFFFFFFFF]),
       seed=st.integers(0, 2**32))
def test_easy_targets_agree_with_hashlib(gpu, prefix, start, count, top, seed):
    count = min(count, NONCE_SPACE - start)
    header = Header(prefix)
    target = (top << 224) | random.Random(seed).getrandbits(224)
    result = scan(gpu, header, target, start, count)
    expected = reference(header, target, start, count)
    assert [s.nonce for s in result.found] == expected and result.hits == len(expected)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.binary(min_size=76, max_size=76), start=st.integers(0, NONCE_SPACE - 64),
       pick=st.integers(0, 63), delta=st.sampled_from([-1, 0, 1]))
def test_target_equal_to_a_hash_is_the_exact_border(gpu, prefix, start, pick, delta):
    header = Header(prefix)
    target = hash_int(header, start + pick) + delta
    result = scan(gpu, header, target, start, 64)
    assert [s.nonce for s in result.found] == reference(header, target, start, 64)


@pytest.mark.parametrize("start, count", [(NONCE_SPACE - 37, 37), (NONCE_SPACE - 1, 1), (0, 1),
                                          (NONCE_SPACE - 1000, 999), (5, 33)])
def test_range_edges(gpu, start, count):
    header = Header(bytes(range(76)))
    target = (0x1FFFFFFF << 224) | 12345
    result = scan(gpu, header, target, start, count)
    assert [s.nonce for s in result.found] == reference(header, target, start, count)
    assert result.hashes == count


def test_more_hits_than_slots_are_counted(gpu):
    result = scan(gpu, Header(bytes(76)), (1 << 256) - 1, 1000, 300, max_found=10)
    assert result.hits == 300
    assert [s.nonce for s in result.found] == list(range(1000, 1010))


def test_more_hits_than_the_device_list_holds(gpu):
    """Every nonce hits: the device list (CAPACITY slots) overflows, the counter does not."""
    count = 4 * CAPACITY + 123
    result = scan(gpu, Header(bytes(76)), (1 << 256) - 1, 77, count, max_found=CAPACITY + 5)
    assert result.hits == count
    assert [s.nonce for s in result.found] == list(range(77, 77 + CAPACITY + 5))


def test_kernel_fits_its_register_budget():
    backend = _BACKENDS[0]
    ok, why = backend.available()
    if not ok:
        pytest.skip(why)
    for runner in backend.runners():
        attributes = runner.kernel.attributes
        assert attributes.num_regs <= 64 and attributes.local_size_bytes == 0
