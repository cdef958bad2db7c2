"""vManage releases and what changes with them (docs/dev/interfaces.md section 4)."""

import re
from functools import total_ordering

DEFAULT_RELEASE = "20.12.1"
OLD_RELEASE = "20.6.4"


@total_ordering
class Release:
    def __init__(self, text):
        numbers = re.match(r"\d+(?:\.\d+)*", text)
        if not numbers:
            raise ValueError(f"not a vManage release: {text!r}")
        self.text = text
        self.numbers = tuple(int(part) for part in numbers.group().split("."))

    def __eq__(self, other):
        return self.numbers == _release(other).numbers

    def __lt__(self, other):
        return self.numbers < _release(other).numbers

    def __hash__(self):
        return hash(self.numbers)

    def __str__(self):
        return self.text

    @property
    def supports_onprem(self):
        return self >= "20.9.1"

    @property
    def logout_method(self):
        return "POST" if self >= "20.12" else "GET"

    @property
    def has_v1_smart_licensing(self):
        # [I] The /v1/smart-licensing/* paths are confirmed from 20.15 and absent from the 20.9-era spec.
        return self >= "20.15"


def _release(value):
    return value if isinstance(value, Release) else Release(value)
