"""``python -m runner.bench.library ROOT N``: generate a library and print where and how fast."""

from runner.bench.library.build import main

raise SystemExit(main())
