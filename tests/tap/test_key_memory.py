"""The key memory's sorted run behaves as a set of keys through any mix of adds, removals and
checkpoints, and what it stores reads back the same."""

from __future__ import annotations

import logging
import random
import uuid

import pytest

from tap_exactonline.key_memory import MEMORY_STATE_KEY, KeyMemory, SortedKeys, Tombstones


def _keys(rng: random.Random, n: int) -> list[bytes]:
    return [uuid.UUID(int=rng.getrandbits(128)).bytes for _ in range(n)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sorted_keys_agree_with_a_set_through_adds_removals_and_packs(seed: int) -> None:
    rng = random.Random(seed)
    pool = _keys(rng, 300)
    keys, model = SortedKeys(), set[bytes]()
    for _ in range(3000):
        key = rng.choice(pool)
        action = rng.random()
        if action < 0.5:
            keys.add(key)
            model.add(key)
        elif action < 0.9:
            assert keys.remove(key) == (key in model)
            model.discard(key)
        else:
            before = keys.changed
            packed = keys.packed()
            assert packed == b"".join(sorted(model))
            assert keys.changed or not before
    assert len(keys) == len(model)


def test_a_pack_after_only_repeated_keys_is_no_change() -> None:
    first = _keys(random.Random(7), 50)
    keys = SortedKeys(b"".join(sorted(first)))
    for key in first:
        keys.add(key)
    keys.packed()
    assert not keys.changed


def test_a_run_not_in_order_is_read_as_its_keys_sorted_once_each() -> None:
    some = _keys(random.Random(9), 20)
    keys = SortedKeys(b"".join(some + some[:5]))
    assert keys.packed() == b"".join(sorted(set(some)))


def test_a_stored_flat_memory_reads_back_with_the_same_keys_and_claims() -> None:
    log = logging.getLogger("test")
    rule = Tombstones.of_key("ID")
    ids = [str(uuid.UUID(bytes=k)) for k in _keys(random.Random(5), 40)]
    memory = KeyMemory(rule, None, log)
    memory.saw({"ID": i} for i in ids)
    state: dict[str, str] = {}
    assert memory.store(state)
    again = KeyMemory(rule, state[MEMORY_STATE_KEY], log)
    assert again.keys() == sorted(ids)
    assert again.claim(ids[3]) == [ids[3]]
    assert again.claim(ids[3]) == []
    assert again.claim(str(uuid.uuid4())) == []
    assert again.store(state) and not again.store(state)
    assert len(KeyMemory(rule, state[MEMORY_STATE_KEY], log)) == len(ids) - 1
