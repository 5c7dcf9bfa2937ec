"""Pure normalisation functions over pandas Series: dates, numbers, text, kana, kanji,
addresses and names.

Submodules are imported directly (``from macros_py.normalize.dates import parse_dates``)
so that each stage loads only what it uses.
"""
