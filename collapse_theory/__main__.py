"""``python -m collapse_theory``."""

import sys

from collapse_theory.cli import main

sys.exit(main())
