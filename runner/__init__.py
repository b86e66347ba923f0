"""midicenter runner: finds and parses MIDI files and streams their facts into the SQL in db/."""

__version__ = "0.1.0"
