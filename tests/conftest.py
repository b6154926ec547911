"""Shared fixtures: every available backend (each CPU path of the C kernels separately) and the real headers."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from hashbench.backends import all_backends
from hashbench.backends.cython import CythonBackend
from hashbench.header import Header

# The shared data set beside the repository; HASHBENCH_SHARED_DATA points elsewhere (a GPU machine, where only the
# repository travels and the data set comes with it in an ignored folder).
SHARED_DATA = Path(os.environ.get("HASHBENCH_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared"
                   / "data")


def _backend_params() -> list:
    params = []
    for backend in all_backends():
        ok, why = backend.available()
        if not ok:
            params.append(pytest.param((backend, None), id=backend.name, marks=pytest.mark.skip(reason=why)))
            continue
        if isinstance(backend, CythonBackend):
            supported = backend.impls()
            for impl in backend.all_impls():
                marks = [] if impl in supported else [pytest.mark.skip(reason=f"this CPU/OS cannot run {impl}")]
                params.append(pytest.param((backend, impl), id=f"cython-{impl}", marks=marks))
        else:
            params.append(pytest.param((backend, None), id=backend.name))
    return params


@pytest.fixture(autouse=True)
def scratch_history(tmp_path_factory, monkeypatch):
    """Runs made by tests (hashbench run in a subprocess included) go to a scratch history, never the user's."""
    monkeypatch.setenv("HASHBENCH_DB", str(tmp_path_factory.getbasetemp() / "history.sqlite"))


@pytest.fixture(params=_backend_params())
def backend_impl(request):
    """(backend, impl): the whole backend suite runs once per entry."""
    return request.param


def load_shared(network: str) -> list[dict]:
    path = SHARED_DATA / f"bitcoin-{network}-headers.csv"
    if not path.exists():
        pytest.skip(f"{path} not present (the shared data set sits beside the repository)")
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def mainnet_rows() -> list[dict]:
    return load_shared("mainnet")


@pytest.fixture(scope="session")
def testnet_rows() -> list[dict]:
    return load_shared("testnet3")


def header_of(row: dict) -> Header:
    return Header.from_hex(row["header_hex"])
