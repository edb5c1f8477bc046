import sys

from ordermail.bench.cli import main

sys.exit(main())
