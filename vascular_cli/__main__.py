"""``python -m vascular_cli``: the same as the ``vascular`` command."""

import sys

from .entry import main

sys.exit(main())
