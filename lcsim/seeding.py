"""One root seed for everything: ``numpy.random.SeedSequence`` spawned into every stochastic part.

No module of lcsim touches a global RNG. A component that needs randomness takes a ``seed`` argument that may be an
int, a ``SeedSequence`` or ``None`` and turns it into its own ``numpy.random.Generator`` (or torch generator) here.
"""
from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["SeedLike", "as_seed_sequence", "make_rng", "spawn", "derive", "torch_generator", "int_seed"]

SeedLike = "int | np.random.SeedSequence | None"


def as_seed_sequence(seed) -> np.random.SeedSequence:
    """Return a ``SeedSequence`` for an int, an existing ``SeedSequence`` or a ``Generator``."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    if seed is None:
        raise ValueError("lcsim needs an explicit seed (an int or a numpy SeedSequence); got None.")
    return np.random.SeedSequence(int(seed))


def make_rng(seed) -> np.random.Generator:
    """A fresh ``numpy.random.Generator`` from ``seed``."""
    return np.random.default_rng(as_seed_sequence(seed))


def spawn(seed, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child sequences of ``seed`` (children of a copy, so the call has no side effect)."""
    ss = as_seed_sequence(seed)
    return [np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key + (i,)) for i in range(n)]


def derive(seed, *names: str | int) -> np.random.SeedSequence:
    """A child sequence keyed by names, stable across processes (no reliance on ``hash()``).

    ``derive(root, "task", "taskset/x", "method", "dpl")`` gives the same stream in every process, independent of the
    order in which other children were spawned, so serial and parallel grids agree.
    """
    ss = as_seed_sequence(seed)
    key = tuple(int.from_bytes(hashlib.sha256(str(n).encode()).digest()[:4], "little") for n in names)
    return np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key + key)


def int_seed(seed, bits: int = 31) -> int:
    """A plain int drawn from ``seed`` for libraries that take only ints (SMAC3, hyperopt, cmaes)."""
    return int(as_seed_sequence(seed).generate_state(1, dtype=np.uint64)[0] % (2**bits))


def torch_generator(seed, device: str = "cpu"):
    """A ``torch.Generator`` seeded from ``seed``."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(int_seed(seed, 63))
    return g
