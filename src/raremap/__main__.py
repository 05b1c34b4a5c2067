"""`python -m raremap` runs the command line."""

from raremap.cli import main

main()
