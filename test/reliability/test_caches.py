"""Caches honour the options that made them: a RIR bank rebuilt with another seed holds other
rooms, and the same options give the same rooms bit for bit."""

from __future__ import annotations

import numpy as np

from tse2.simulation.bank import Bank, build_bank


def test_a_rir_bank_rebuilt_with_another_seed_holds_other_rooms(tmp_path):
    bank_dir = tmp_path / "rir_bank/test"
    assert build_bank(bank_dir, "test", range(3), seed=0, backend_name="ism_diffuse", fs=8000) == 3
    first = [Bank(bank_dir)[k].copy() for k in range(3)]
    spec0 = Bank(bank_dir).spec(0)
    # the same dir, another seed: every entry is made again ("made 3 of 3"), not skipped
    assert build_bank(bank_dir, "test", range(3), seed=7, backend_name="ism_diffuse", fs=8000) == 3
    assert Bank(bank_dir).spec(0) != spec0
    assert all(not np.array_equal(a, Bank(bank_dir)[k]) for k, a in enumerate(first))
    # and back: the seed-0 rooms again, bit for bit
    build_bank(bank_dir, "test", range(3), seed=0, backend_name="ism_diffuse", fs=8000)
    assert all(np.array_equal(a, Bank(bank_dir)[k]) for k, a in enumerate(first))
