"""``python -m adapters``: see :mod:`adapters.cli`."""

from .cli import main

raise SystemExit(main())
