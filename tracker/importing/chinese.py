"""Traditional characters (繁體, as some mirrors and Hong Kong or Taiwan copies write reports),
read as simplified ones, with the report's own text kept.

The parser and the category rules are written in simplified characters. OpenCC (BYVoid's
maintained converter, phrases and characters, ``t2s``) converts each line; the parser reads the
converted lines; what it found is then given back in the report's own characters wherever a
line converted to one of the same length (almost always: t2s maps character to character, save
for a few phrases).
"""

from functools import cache


@cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """``text`` in simplified characters (unchanged when it has no traditional ones)."""
    return _converter().convert(text) if text else text


class Lines:
    """A report's lines in simplified characters, able to give a found fragment back as written."""

    def __init__(self, lines: list[str]):
        self.original = lines
        converted = simplified("\n".join(lines)).split("\n")
        self.lines = converted if len(converted) == len(lines) else [simplified(line) for line in lines]
        self.changed = self.lines != lines
        self._at = 0  # fragments are asked for in the order of the report: look from the last one on

    def restore(self, text: str) -> str:
        """``text`` (made of fragments of the converted lines, one per line) as the report wrote it."""
        if not self.changed or not text:
            return text
        return "\n".join(self._restore(part) for part in text.split("\n"))

    def _restore(self, fragment: str) -> str:
        if not fragment:
            return fragment
        count = len(self.lines)
        for step in range(count):
            index = (self._at + step) % count
            converted, original = self.lines[index], self.original[index]
            at = converted.find(fragment)
            if at >= 0 and len(converted) == len(original):
                self._at = index
                return original[at:at + len(fragment)]
        return fragment
