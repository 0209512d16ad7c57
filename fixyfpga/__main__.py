import sys

from fixyfpga.cli import main

sys.exit(main())
