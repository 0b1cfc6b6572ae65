import sys

from instructune.cli import main

sys.exit(main())
