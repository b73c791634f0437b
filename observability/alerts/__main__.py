"""`python -m observability.alerts` (``make alerts``)."""

import sys

from observability.alerts._cli import main

sys.exit(main())
