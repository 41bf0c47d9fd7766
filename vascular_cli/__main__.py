"""``python -m vascular_cli``: the same as the ``vascular`` command."""

import sys

from .cli import main

sys.exit(main())
