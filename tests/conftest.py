import os

import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """A generator with fresh entropy per test; its seed is printed so a failure can be replayed with
    PYLLM_TEST_SEED=<seed>."""
    seed = int(os.environ.get("PYLLM_TEST_SEED", np.random.SeedSequence().entropy % (2**32)))
    print(f"rng seed for {request.node.name}: {seed}")
    return np.random.default_rng(seed)
