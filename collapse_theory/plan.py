"""How a run is laid out: devices, chunk sizes, this process's chains, kept or streamed values, memory.

Decided once, before anything compiles, so that a run that cannot fit is refused up front with
the estimate, and a run whose per-chain values would crowd memory streams its summaries instead.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import jax

from collapse_theory.config import ConfigError, SimConfig
from collapse_theory.moments import BLOCK
from collapse_theory.streaming import cell_bytes

__all__ = [
    "Plan",
    "make_plan",
    "round_lanes",
    "chain_range",
    "physical_memory",
    "MEMORY_BUDGET_BYTES",
    "LANE_MULTIPLE",
    "KEEP_CHAINS_AUTO_BYTES",
    "HOST_MEMORY_FRACTION",
]

MEMORY_BUDGET_BYTES = 512 * 2**20
"""Approximate per-chunk working-set budget on a CPU device (accelerators: a quarter of their memory)."""

LANE_MULTIPLE = 64
"""Compiled chunks hold a multiple of this many chains per device (padding chains are computed and dropped).

XLA picks different vectorisation for tiny batches, which changes results in the last ulp; with
every per-device chunk a multiple of 64 lanes, chain c's values are bit-identical whatever the
chunk size and device count."""

MAX_LANES = {"cpu": 65536}
"""Most lanes per device in one chunk; accelerators (not listed) take up to 2**22 to fill them."""

KEEP_CHAINS_AUTO_BYTES = 2 * 2**30
"""With ``keep_chains=None``, per-chain values are kept only below this size (and an eighth of memory)."""

HOST_MEMORY_FRACTION = 0.5
"""Refuse a run whose host memory (kept values, or streaming summaries) would exceed this fraction."""


class Plan(NamedTuple):
    """The layout of one process's part of a run."""

    devices: tuple
    chunk: int
    first: int
    stop: int
    keep: bool
    process: int
    processes: int
    kept_bytes: int
    auto_streamed: bool

    @property
    def lanes(self) -> int:
        """Chains per step of the host loop (every device's chunk)."""
        return self.chunk * len(self.devices)

    @property
    def steps(self) -> int:
        """Host-loop steps over this process's chains."""
        return math.ceil((self.stop - self.first) / self.lanes) if self.stop > self.first else 0


def round_lanes(n: int) -> int:
    """Lanes of a chunk of ``n`` chains: a multiple of 64 up to 512, then 8 sizes per octave.

    Chunks come in few sizes so that runs with different chain counts share compiled programs
    (padding lanes are computed and dropped: at most 1/8 of the work above 512 chains).
    """
    n = max(int(n), 1)
    if n <= 8 * LANE_MULTIPLE:
        return -(-n // LANE_MULTIPLE) * LANE_MULTIPLE
    step = 2 ** (n.bit_length() - 1) // 8
    return -(-n // step) * step


def chain_range(chains: int, process: int, processes: int) -> tuple[int, int]:
    """Process ``process``'s chains: contiguous, in whole blocks of BLOCK chains (the last may be short)."""
    blocks = math.ceil(chains / BLOCK)
    per = math.ceil(blocks / processes)
    first = min(chains, process * per * BLOCK)
    return first, min(chains, first + per * BLOCK)


def physical_memory() -> int:
    """Bytes of RAM (2**62 where it cannot be read: no refusal)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 2**62


def local_devices(devices: int | None) -> tuple:
    """The first ``devices`` local devices of the default backend (all of them by default)."""
    have = jax.local_devices()
    if devices is None:
        return tuple(have)
    if devices > len(have):
        raise ConfigError(
            f"--devices {devices}: only {len(have)} {have[0].platform} device(s) here"
            + (
                " (on CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N before jax starts)"
                if have[0].platform == "cpu"
                else ""
            )
        )
    return tuple(have[:devices])


def _device_budget(device) -> int:
    if device.platform == "cpu":
        return MEMORY_BUDGET_BYTES
    try:
        limit = int((device.memory_stats() or {}).get("bytes_limit", 0))
    except Exception:  # noqa: BLE001 - a backend without memory statistics
        limit = 0
    return max(MEMORY_BUDGET_BYTES, limit // 4)


def _rows(config: SimConfig) -> int:
    return len(config.metrics) if config.metrics is not None else len(config.spec.metric_names())


def make_plan(
    config: SimConfig,
    *,
    state_bytes: int,
    step_bytes: int,
    measure_rows: int,
    devices: int | None,
    keep_chains: bool | None,
    process: int = 0,
    processes: int = 1,
    lanes: int | None = None,
) -> Plan:
    """Choose devices, the per-device chunk, this process's chains and whether values are kept.

    Args:
        config: the validated configuration.
        state_bytes: bytes per chain of the carried state.
        step_bytes: bytes per chain of one generation's work.
        measure_rows: rows of the measured output (metrics and diagnostics).
        devices: local devices to use (None: all).
        keep_chains: keep per-chain values (None: when they fit comfortably, else stream).
        process: this process's index.
        processes: how many processes take part.
        lanes: lanes per host-loop step to reproduce (a checkpoint's), or None.

    Raises:
        ConfigError: too many devices, a pool too large for a chunk, or a run that cannot fit in
            memory (with the estimate).

    """
    devs = local_devices(devices)
    first, stop = chain_range(config.chains, process, processes)
    local = max(stop - first, 1)
    budget = _device_budget(devs[0])
    record = len(config.record or ())
    per_lane = state_bytes + step_bytes + 8 * measure_rows * 2
    if lanes is not None:
        if lanes % (len(devs) * LANE_MULTIPLE):
            raise ConfigError(
                f"the checkpoint ran {lanes} chains per step, which {len(devs)} devices cannot share in "
                f"multiples of {LANE_MULTIPLE}; resume with the device count it was written with"
            )
        chunk = lanes // len(devs)
    elif config.chunk_size is not None:
        chunk = round_lanes(min(config.chunk_size, local))
    else:
        cap = MAX_LANES.get(devs[0].platform, 2**22)
        chunk = round_lanes(int(min(math.ceil(local / len(devs)), max(1, budget // per_lane), cap)))
    if state_bytes * chunk > 4 * budget:
        raise ConfigError(
            f"the {config.scenario} pool needs {state_bytes / 2**20:.0f} MiB per chain; "
            "reduce --generations or --samples"
        )
    rows = _rows(config)
    need = 8 * (rows + 2) * record * config.chains
    have = physical_memory()
    auto = False
    if keep_chains is None:
        keep = need <= min(KEEP_CHAINS_AUTO_BYTES, have / 8)
        auto = not keep
    else:
        keep = bool(keep_chains)
    if keep and need > HOST_MEMORY_FRACTION * have:
        raise ConfigError(
            f"keeping every chain's values needs about {need / 2**30:.3g} GiB ({rows} metrics x "
            f"{record} recorded generations x {config.chains} chains x 8 bytes), more than half "
            f"of this machine's {have / 2**30:.3g} GiB; stream the summaries instead (keep_chains=False, "
            "--no-keep-chains), or record fewer generations (--record), fewer metrics (--metrics) or fewer chains"
        )
    if not keep:
        stream = rows * record * cell_bytes(config.chains) + 3 * 8 * measure_rows * chunk * len(devs)
        if stream > HOST_MEMORY_FRACTION * have:
            raise ConfigError(
                f"streaming the summaries needs about {stream / 2**30:.3g} GiB ({rows} metrics x {record} "
                f"recorded generations x {cell_bytes(config.chains) / 2**20:.2g} MiB of sketches, plus the "
                f"chunks' values), more than half of this machine's {have / 2**30:.3g} GiB; record fewer "
                "generations (--record) or fewer metrics (--metrics)"
            )
    return Plan(devs, chunk, first, stop, keep, process, processes, need, auto)
