"""`python -m seqlm` runs the command-line tool."""

from seqlm.cli import main

raise SystemExit(main())
