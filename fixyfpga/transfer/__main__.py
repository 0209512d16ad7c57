import sys

from fixyfpga.transfer.cli import main

sys.exit(main())
