"""`python -m exactonline_sandbox serve ...`: the same as the `exactonline-sandbox` command."""

from exactonline_sandbox.cli import main

raise SystemExit(main())
