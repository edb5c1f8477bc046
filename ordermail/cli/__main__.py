"""`python -m ordermail.cli`."""

import sys

from ordermail.cli import main

sys.exit(main())
