"""Field-by-field comparison of two brokers' normalised answers."""

import re
from dataclasses import dataclass
from typing import Any

from .normalise import Keyed
from .runner import Outcome

ABSENT = "<absent>"


@dataclass(frozen=True)
class Diff:
    """One field that differs: `path` names it within the step's answer
    ("responses[0].partitions[0].error_code", "" for the whole answer;
    an item of an unordered collection by its key: "configs[retention.ms]")."""

    step: int
    label: str
    api_key: int
    path: str
    kgw: Any
    kafka: Any

    @property
    def shape(self) -> str:
        """The path without list indexes, what the table of documented
        differences matches: "topics[].partitions[].error_code"."""
        return re.sub(r"\[\d+\]", "[]", self.path)


def diff_values(kgw, kafka, path: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(kgw, dict) and isinstance(kafka, dict):
        out = []
        for key in list(kgw) + [k for k in kafka if k not in kgw]:
            if isinstance(kgw, Keyed) or isinstance(kafka, Keyed):
                inner = f"{path}[{key}]"
            else:
                inner = f"{path}.{key}" if path else key
            out.extend(diff_values(kgw.get(key, ABSENT), kafka.get(key, ABSENT), inner))
        return out
    if isinstance(kgw, list) and isinstance(kafka, list):
        out = []
        for i in range(max(len(kgw), len(kafka))):
            out.extend(diff_values(kgw[i] if i < len(kgw) else ABSENT,
                                   kafka[i] if i < len(kafka) else ABSENT, f"{path}[{i}]"))
        return out
    if kgw == kafka and type(kgw) is type(kafka):
        return []
    return [(path, kgw, kafka)]


def diff_outcomes(kgw: list[Outcome], kafka: list[Outcome]) -> list[Diff]:
    if len(kgw) != len(kafka):
        raise AssertionError(f"the brokers' runs have {len(kgw)} and {len(kafka)} steps")
    diffs = []
    for i, (a, b) in enumerate(zip(kgw, kafka)):
        diffs.extend(Diff(i, a.label, a.api_key, path, x, y) for path, x, y in diff_values(a.value, b.value))
    return diffs


def requests_differ(kgw: list[Outcome], kafka: list[Outcome]) -> list[int]:
    """The steps whose request frames were not byte-identical."""
    return [i for i, (a, b) in enumerate(zip(kgw, kafka))
            if a.request is not None and b.request is not None and a.request != b.request]
