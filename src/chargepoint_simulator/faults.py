"""Fault injection: the ways a real service (or the network in front of it) misbehaves, on demand.

All settings live in one mutable dataclass that the server reads on every request, so they can be
changed at run time from Python (``sim.faults.http500_rate = 0.5``), from the admin endpoint or from
the command line. ``operations`` limits every setting except ``response_codes`` (already per
operation) to the named operations; None means all of them.

Order of application to one SOAP request: latency and jitter, blackhole, HTTP 500, SOAP fault,
malformed body, forced response code, empty result, truncation.
"""
from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

# Texts used when a forced code is given without one.
DEFAULT_CODE_TEXTS: dict[int, str] = {
    100: "API input request executed successfully.",
    101: "This API call is not allowed for your account plan.",
    102: "No station(s) found for the given search criteria.",
    136: "No charging session data found for the given search criteria.",
    153: "No alarms found for the given search criteria.",
}


def _code_and_text(value: Any) -> tuple[int, str]:
    """Accept ``101``, ``(101, "text")``, ``[101]`` or ``{"code": 101, "text": "..."}``."""
    if isinstance(value, Mapping):
        code = int(value["code"])
        text = value.get("text")
    elif isinstance(value, (list, tuple)):
        code = int(value[0])
        text = value[1] if len(value) > 1 else None
    else:
        code, text = int(value), None
    return code, str(text) if text is not None else DEFAULT_CODE_TEXTS.get(code, f"Simulated response code {code}.")


@dataclass
class Faults:
    """The active fault settings (all off by default); rates are shares of calls from 0 to 1."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    http500_rate: float = 0.0
    soap_fault_rate: float = 0.0
    response_codes: dict[str, tuple[int, str]] = field(default_factory=dict)
    truncate: bool = False
    malformed: bool = False
    blackhole: bool = False
    empty: bool = False
    operations: set[str] | None = None
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"chargepoint-sim/faults/{self.seed}")
        self.response_codes = {op: _code_and_text(v) for op, v in self.response_codes.items()}
        if self.operations is not None:
            self.operations = set(self.operations)

    def clear(self) -> None:
        """Turn every fault off (the random stream continues where it was)."""
        for spec in fields(self):
            if spec.init and spec.name != "seed":
                setattr(self, spec.name, _default(spec))

    def applies(self, operation: str) -> bool:
        """True when the settings concern this operation."""
        return self.operations is None or operation in self.operations

    def delay_seconds(self, operation: str) -> float:
        """How long to hold this call: latency plus a random share of the jitter."""
        if not self.applies(operation) or (self.latency_ms <= 0 and self.jitter_ms <= 0):
            return 0.0
        jitter = self._rng.uniform(0.0, self.jitter_ms) if self.jitter_ms > 0 else 0.0
        return max(0.0, self.latency_ms + jitter) / 1000.0

    def roll(self, rate: float) -> bool:
        """True for a share ``rate`` of calls, drawn from the faults' own seeded stream."""
        if rate <= 0:
            return False
        return rate >= 1 or self._rng.random() < rate

    def forced_code(self, operation: str) -> tuple[int, str] | None:
        """The (code, text) forced on this operation, if any."""
        forced = self.response_codes.get(operation)
        return None if forced is None else _code_and_text(forced)

    def force_code(self, operation: str, code: int, text: str | None = None) -> None:
        """Make ``operation`` answer with ``code`` (and ``text``, or a stock text) until cleared."""
        self.response_codes[operation] = _code_and_text((code, text) if text is not None else code)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy of the settings."""
        return {
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "http500_rate": self.http500_rate,
            "soap_fault_rate": self.soap_fault_rate,
            "response_codes": {op: {"code": c, "text": t} for op, (c, t) in self.response_codes.items()},
            "truncate": self.truncate,
            "malformed": self.malformed,
            "blackhole": self.blackhole,
            "empty": self.empty,
            "operations": sorted(self.operations) if self.operations is not None else None,
        }

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a partial set of settings (admin endpoint / CLI); ``{"clear": true}`` resets first.

        Raises ValueError for an unknown name or an out-of-range value; nothing changes then.
        """
        staged = {k: v for k, v in changes.items() if k != "clear"}
        known = {spec.name for spec in fields(self) if spec.init and spec.name != "seed"}
        unknown = set(staged) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        converted: dict[str, Any] = {}
        for name, value in staged.items():
            if name in ("latency_ms", "jitter_ms"):
                converted[name] = float(value)
                if converted[name] < 0:
                    raise ValueError(f"{name} must be >= 0")
            elif name in ("http500_rate", "soap_fault_rate"):
                converted[name] = float(value)
                if not 0.0 <= converted[name] <= 1.0:
                    raise ValueError(f"{name} must be between 0 and 1")
            elif name == "response_codes":
                converted[name] = {str(op): _code_and_text(v) for op, v in (value or {}).items()}
            elif name == "operations":
                converted[name] = None if value is None else {str(op) for op in value}
            else:
                converted[name] = bool(value)
        if changes.get("clear"):
            self.clear()
        for name, value in converted.items():
            setattr(self, name, value)


def _default(spec: Any) -> Any:
    """A dataclass field's default value."""
    if spec.default_factory is not MISSING:
        return spec.default_factory()
    return spec.default
