"""``python -m runner.cli``: the `midicenter` command (the benches run it as a child process)."""

from runner.cli import main

main()
