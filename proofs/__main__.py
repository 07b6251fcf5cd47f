"""Run every machine-checked derivation and print a report: ``python -m proofs [-v] [filter]``.

Exit status 0 iff every proof passes and every registered result has a resolvable proof whose
``result_id`` is that result.
"""

from __future__ import annotations

import sys
import time

from collapse_theory.theory import registry
from proofs._core import Proof, resolve


def _run(verbose: bool, pattern: str) -> int:
    failures = 0
    start = time.perf_counter()
    rows: list[tuple[Proof, float]] = []
    for res in registry.all_results():
        if pattern and pattern not in res.id:
            continue
        t0 = time.perf_counter()
        try:
            proof = resolve(res.proof)()
        except (ImportError, AttributeError) as err:
            proof = Proof(res.id, "unresolved proof reference", False, f"{res.proof}: {err}")
        if proof.result_id != res.id:
            proof = Proof(res.id, proof.method, False, f"proof is for {proof.result_id!r}\n{proof.details}")
        rows.append((proof, time.perf_counter() - t0))
        failures += not proof.verdict
        mark = "PASS" if proof.verdict else "FAIL"
        print(f"{mark}  {res.id:<55} {rows[-1][1]:5.2f}s  {proof.method}")
        if verbose or not proof.verdict:
            for line in proof.details.splitlines():
                print(f"        {line}")
    total = time.perf_counter() - start
    print(f"\n{len(rows) - failures}/{len(rows)} proofs passed in {total:.1f}s")
    return 1 if failures or not rows else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; ``-v`` prints every step, a positional argument filters result ids."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args
    rest = [a for a in args if a != "-v"]
    return _run(verbose, rest[0] if rest else "")


if __name__ == "__main__":
    sys.exit(main())
