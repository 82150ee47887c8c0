"""``python -m simulator``: the same as ``huiju simulator serve``."""

import sys

from simulator.cli import main

sys.exit(main())
