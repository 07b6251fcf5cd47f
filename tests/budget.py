"""The suite's false-failure budget.

Every Monte Carlo test fails a correct implementation with probability at most ``ALPHA`` (fixed
seeds make a failure repeatable; the budget makes a pass meaningful). With about 100 such tests
the suite-wide false-failure probability is below 1%.
"""

ALPHA = 1e-4
