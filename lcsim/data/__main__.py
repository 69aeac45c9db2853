"""``python -m lcsim.data`` entry point (implementation in :mod:`lcsim.data._cli`)."""
import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
