"""``python -m analysis.importers SOURCE``: see ``analysis.importers.main``."""

import sys

from . import main

sys.exit(main())
