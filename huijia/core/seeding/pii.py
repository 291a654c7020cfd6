"""Valid fake identities (mainland ID numbers, mobile numbers) and their encryption in bulk.

Nothing here needs Django set up: the encryption workers are started with `spawn` and import only
this module (and `huijia.core.personal`, importable without settings). The workers encrypt with the
Fernet key `huijia.core.crypto.encrypt` uses (the first of HUIJIA_DATA_KEYS), so `EncryptedTextField`
reads the values back; the seed tests check the round-trip.
"""

import os
import random
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date, timedelta
from multiprocessing import get_context

from cryptography.fernet import Fernet

from huijia.core.personal import id_check_digit

# Resident ID region codes of Changsha's districts and counties (the first six digits).
REGION_CODES = ("430102", "430103", "430104", "430105", "430111", "430112", "430121", "430181", "430182")
MOBILE_PREFIXES = ("130", "133", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159")
MOBILE_PREFIXES += ("177", "180", "181", "186", "187", "188", "189", "191", "198", "199")
_BIRTH_FIRST = date(1962, 1, 1)
_BIRTH_DAYS = (date(2000, 12, 31) - _BIRTH_FIRST).days

# Below this many values the pool costs more to start than it saves.
POOL_THRESHOLD = 20_000
CHUNK = 5_000


def id_numbers(rng: random.Random, count: int) -> list[str]:
    """`count` distinct 18-digit ID numbers of people born 1962–2000, each with a correct check digit."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        birth = _BIRTH_FIRST + timedelta(days=rng.randrange(_BIRTH_DAYS))
        first17 = f"{rng.choice(REGION_CODES)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        if first17 not in seen:
            seen.add(first17)
            out.append(first17 + id_check_digit(first17))
    return out


def mobiles(rng: random.Random, count: int) -> list[str]:
    """`count` distinct 11-digit mainland mobile numbers."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        number = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"
        if number not in seen:
            seen.add(number)
            out.append(number)
    return out


def encrypt_chunk(key: str, values: Sequence[str]) -> list[str]:
    """Fernet tokens for `values` (runs in a worker process)."""
    fernet = Fernet(key.encode())
    return [fernet.encrypt(value.encode()).decode() for value in values]


class Encryption:
    """Values being encrypted, in worker processes when there are many, while the caller does other work."""

    def __init__(self, key: str, values: Sequence[str], workers: int | None = None) -> None:
        workers = workers or os.cpu_count() or 1
        self._result: list[str] | None = None
        self._futures: list[Future] = []
        self._pool: ProcessPoolExecutor | None = None
        if workers < 2 or len(values) < POOL_THRESHOLD:
            self._result = encrypt_chunk(key, values)
            return
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
        self._futures = [
            self._pool.submit(encrypt_chunk, key, values[i : i + CHUNK]) for i in range(0, len(values), CHUNK)
        ]

    def result(self) -> list[str]:
        """The encrypted values in input order (waits for the workers)."""
        if self._result is None:
            try:
                self._result = [token for future in self._futures for token in future.result()]
            finally:
                self.close()
        return self._result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
