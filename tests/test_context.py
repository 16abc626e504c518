"""The context's tables are computed once, even when the engine's rule threads ask at the same time."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from auditor.engine.context import computed_once


class Tables:
    def __init__(self):
        self.computed = 0

    @computed_once
    def slow(self) -> list:
        self.computed += 1
        time.sleep(0.2)  # long enough for the second thread to ask while the first computes
        return [self.computed]

    @computed_once
    def built_on_slow(self) -> list:
        return self.slow + [0]


def test_two_threads_asking_at_once_share_one_computation():
    tables = Tables()
    start = threading.Barrier(2)

    def ask(_):
        start.wait()
        return tables.slow

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(ask, range(2))
    assert tables.computed == 1
    assert first is second


def test_a_table_built_on_another_waits_for_it_without_deadlock():
    tables = Tables()
    with ThreadPoolExecutor(2) as pool:
        built, slow = pool.map(lambda name: getattr(tables, name), ["built_on_slow", "slow"])
    assert (built, slow, tables.computed) == ([1, 0], [1], 1)
