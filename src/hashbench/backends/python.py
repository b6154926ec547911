"""The hashlib reference: slow, obviously right, the baseline every other backend is tested against."""

from __future__ import annotations

import hashlib
import struct

from .base import Backend, ScanJob


class PythonBackend(Backend):
    name = "python"
    chunk = 1 << 14  # ~1 MH/s: keep chunks short so a stop request is seen quickly
    threads_via_python = True  # correct with threads, though the GIL keeps it at one core
    scales_with_threads = False

    def available(self) -> tuple[bool, str]:
        return True, ""

    def _scan_part(self, job: ScanJob, impl: str, start: int, count: int, max_found: int,
                   threads: int) -> tuple[int, list[int]]:
        first = hashlib.sha256(job.header.prefix[:64])  # hashlib's own midstate, copied per nonce
        tail = job.header.prefix[64:76]
        sha256, pack, from_bytes, target = hashlib.sha256, struct.Struct("<I").pack, int.from_bytes, job.target
        hits, found = 0, []
        for nonce in range(start, start + count):
            h = first.copy()
            h.update(tail + pack(nonce))
            if from_bytes(sha256(h.digest()).digest(), "little") <= target:
                hits += 1
                if len(found) < max_found:
                    found.append(nonce)
        return hits, found
