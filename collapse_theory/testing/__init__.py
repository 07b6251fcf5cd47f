"""Statistical assertions and hypothesis strategies for testing recursive estimators.

Every assertion takes a false-failure budget ``alpha`` (the probability that a correct
implementation fails the check) and derives its threshold from it; nothing here uses an ad hoc
tolerance.
"""

from collapse_theory.testing.assertions import (
    assert_ks as assert_ks,
)
from collapse_theory.testing.assertions import (
    assert_mean as assert_mean,
)
from collapse_theory.testing.assertions import (
    assert_two_sample_ks as assert_two_sample_ks,
)
from collapse_theory.testing.assertions import (
    assert_variance as assert_variance,
)
from collapse_theory.testing.assertions import (
    z_threshold as z_threshold,
)
from collapse_theory.testing.conformance import (
    check_family as check_family,
)
