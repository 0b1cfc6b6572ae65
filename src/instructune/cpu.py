"""CPU threads for torch: the `threads` setting (and `--threads N`), 0 picking a fair share.

torch uses one thread per core by default, so several processes on one machine (torchrun,
`accelerate launch`, or two commands side by side) oversubscribe the cores and each runs
slower than alone. With `threads: 0`:

- under a launcher (LOCAL_WORLD_SIZE set): the usable cores divided by the local processes
  (torchrun's blanket OMP_NUM_THREADS=1 would leave most cores idle);
- one process with OMP_NUM_THREADS set: that number (the user's choice);
- one process otherwise: every usable core.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def cpu_threads(requested: int) -> int:
    """The thread count for `requested` (see the module docstring for 0)."""
    if requested > 0:
        return requested
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "0") or 0)
    if local > 0:
        return max(1, usable_cores() // local)
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) > 0:
        return int(omp)
    return usable_cores()


def set_threads(requested: int) -> int:
    """Apply `cpu_threads(requested)` to torch; returns the count."""
    import torch

    n = cpu_threads(requested)
    torch.set_num_threads(n)
    return n
