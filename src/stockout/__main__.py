"""``python -m stockout``: the same as the ``stockout`` command."""

from .cli import main

raise SystemExit(main())
