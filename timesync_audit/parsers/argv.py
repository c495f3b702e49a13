"""Daemon command lines read the way getopt reads them: -x VALUE, -xVALUE, bundled flags,
long options by name, and '--' or the first non-option word ending the options."""

from __future__ import annotations

from collections.abc import Mapping


def parse_options(
    argv: list[str] | tuple[str, ...], with_value: set[str], long_names: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Options by letter (flags map to ""); the last occurrence wins, as in the daemons."""
    long_names = long_names or {}
    options: dict[str, str] = {}
    i = 1
    while i < len(argv):
        word = argv[i]
        if word == "--" or not word.startswith("-") or word == "-":
            break
        if word.startswith("--"):
            name, sep, value = word[2:].partition("=")
            letter = long_names.get(name)
            if letter and not sep:
                value = argv[i + 1] if i + 1 < len(argv) else ""
                i += 1
            if letter:
                options[letter] = value
            i += 1
            continue
        j = 1
        while j < len(word):
            letter = word[j]
            if letter in with_value:
                value = word[j + 1 :] or (argv[i + 1] if i + 1 < len(argv) else "")
                if not word[j + 1 :]:
                    i += 1
                options[letter] = value
                break
            options.setdefault(letter, "")
            j += 1
        i += 1
    return options
