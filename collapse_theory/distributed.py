"""Many processes (hosts): ``jax.distributed`` start-up and the exchange of results.

Every process runs the same ``simulate`` call on its own contiguous, block-aligned range of
chains (:func:`collapse_theory.plan.chain_range`; the random streams are keyed by the global
chain index, so the values are those of a single-process run). Nothing is computed across
processes: at the end each process sends its part (per-chain values, or the few tree nodes of
its streamed summaries) to process 0 through the distributed runtime's key-value store, which
merges them exactly as one process would have, and sends the merged summaries back. This needs
no cross-process collectives (no gloo or MPI on CPU) and works the same on every backend.

Start-up, in order of precedence: the arguments of :func:`initialize` (CLI:
``--coordinator-address HOST:PORT --num-processes N --process-id I``), the environment
(``COLLAPSE_THEORY_COORDINATOR_ADDRESS``, ``COLLAPSE_THEORY_NUM_PROCESSES``,
``COLLAPSE_THEORY_PROCESS_ID``; JAX itself reads ``JAX_COORDINATOR_ADDRESS``), then JAX's cluster
detection (SLURM's ``SLURM_JOB_ID``, ``SLURM_STEP_NODELIST``, ``SLURM_NTASKS``, ``SLURM_PROCID``,
``SLURM_LOCALID`` under ``srun``; Open MPI; Kubernetes).
"""

from __future__ import annotations

import os
import time

import jax

from collapse_theory.config import ConfigError

__all__ = ["initialize", "process_info", "gather", "broadcast", "ENV"]

ENV = {
    "coordinator_address": "COLLAPSE_THEORY_COORDINATOR_ADDRESS",
    "num_processes": "COLLAPSE_THEORY_NUM_PROCESSES",
    "process_id": "COLLAPSE_THEORY_PROCESS_ID",
}
_PIECE = 32 * 2**20  # bytes per key-value entry
_WAIT_MS = 600_000  # one blocking read; reads are retried until the other process has finished
_runs = 0  # simulate calls so far: every process makes the same calls in the same order


def _client():
    from jax._src import distributed as jd

    return jd.global_state.client


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    timeout_seconds: int = 300,
) -> tuple[int, int]:
    """Join a multi-process run (``jax.distributed.initialize``); a no-op if already joined.

    Args:
        coordinator_address: ``host:port`` of process 0's coordinator (every process gives the same).
        num_processes: processes taking part.
        process_id: this process's index in ``0 .. num_processes - 1``.
        timeout_seconds: how long to wait for the others to connect.

    Returns:
        ``(process_id, num_processes)``.

    Raises:
        ConfigError: an unreadable environment value, or a start-up JAX refused.

    """
    if _client() is not None:
        return process_info()
    env = {k: os.environ.get(v) for k, v in ENV.items()}
    coordinator_address = coordinator_address or env["coordinator_address"]
    try:
        if num_processes is None and env["num_processes"]:
            num_processes = int(env["num_processes"])
        if process_id is None and env["process_id"]:
            process_id = int(env["process_id"])
    except ValueError as e:
        raise ConfigError(f"{ENV['num_processes']} / {ENV['process_id']} must be integers ({e})") from None
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator_address,
            num_processes=num_processes,
            process_id=process_id,
            initialization_timeout=timeout_seconds,
        )
    except (ValueError, TypeError, RuntimeError) as e:
        raise ConfigError(f"cannot start the multi-process run: {e}") from None
    return process_info()


def process_info() -> tuple[int, int]:
    """``(process index, process count)``: ``(0, 1)`` unless :func:`initialize` was called."""
    if _client() is None:
        return 0, 1
    return jax.process_index(), jax.process_count()


def next_run() -> int:
    """A tag for this ``simulate`` call's keys (the same on every process)."""
    global _runs
    _runs += 1
    return _runs


def _set(key: str, data: bytes) -> None:
    client = _client()
    pieces = [data[i : i + _PIECE] for i in range(0, len(data), _PIECE)] or [b""]
    for i, p in enumerate(pieces):
        client.key_value_set_bytes(f"{key}/{i}", p)
    client.key_value_set(f"{key}/n", str(len(pieces)))


def _wait(get, key: str):
    while True:
        try:
            return get(key, _WAIT_MS)
        except Exception as e:  # noqa: BLE001 - the runtime raises a generic error on a deadline
            if "DEADLINE" not in str(e).upper():
                raise
            time.sleep(0.1)


def _get(key: str, *, delete: bool = False) -> bytes:
    client = _client()
    n = int(_wait(client.blocking_key_value_get, f"{key}/n"))
    data = b"".join(_wait(client.blocking_key_value_get_bytes, f"{key}/{i}") for i in range(n))
    if delete:  # free the coordinator's memory
        for i in range(n):
            client.key_value_delete(f"{key}/{i}")
    return data


def gather(run: int, data: bytes) -> list[bytes] | None:
    """Every process's ``data`` on process 0 (in process order); None on the others."""
    pid, n = process_info()
    if pid != 0:
        _set(f"collapse_theory/{run}/part/{pid}", data)
        return None
    return [data] + [_get(f"collapse_theory/{run}/part/{q}", delete=True) for q in range(1, n)]


def broadcast(run: int, data: bytes | None) -> bytes:
    """Process 0's ``data`` on every process."""
    pid, _ = process_info()
    key = f"collapse_theory/{run}/merged"
    if pid == 0:
        assert data is not None
        _set(key, data)
        return data
    return _get(key)
