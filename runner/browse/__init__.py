"""`midicenter browse`: a local web page over the SQL API.

``server`` is the HTTP side (one page, its static assets in ``static/``, a JSON API whose endpoints are
each one midi.* call), ``library`` the database side (reader and writer sessions, the probe of what the
database offers, reading a file's bytes). The page parses MIDI bytes, draws the piano roll and plays
the notes in the browser (static/*.js, plain JavaScript written here, no third-party code).
"""
