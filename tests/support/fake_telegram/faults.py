"""Injected faults: one-shot ones (``inject``) and time-boxed storms (``storm``)."""

from __future__ import annotations

from dataclasses import replace

from .models import Fault


class FaultBook:
    """The faults waiting to hit calls; storms are checked first, then one-shot faults in injection order."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []
        self.storms: list[Fault] = []
        self.fired: list[tuple[str, Fault]] = []  # (method, fault) for every call a fault hit

    def __bool__(self) -> bool:
        return bool(self.pending or self.storms)

    @staticmethod
    def _matches(fault: Fault, method: str) -> bool:
        return fault.method is None or fault.method.lower() == method.lower()

    def add(self, fault: Fault) -> None:
        fault = replace(fault)  # the caller's object stays as given; the copy counts down
        if fault.until is not None:
            self.storms.append(fault)
        elif fault.count > 0:
            self.pending.append(fault)

    def take(self, method: str, now: float) -> Fault | None:
        """The fault hitting this call of ``method``, if any (consuming one of its ``count``)."""
        if self.storms:
            self.storms = [storm for storm in self.storms if storm.until is not None and storm.until > now]
            for storm in self.storms:
                if self._matches(storm, method):
                    self.fired.append((method, storm))
                    return storm
        for index, fault in enumerate(self.pending):
            if self._matches(fault, method):
                fault.count -= 1
                if fault.count <= 0:
                    del self.pending[index]
                self.fired.append((method, fault))
                return fault
        return None

    def clear(self) -> None:
        self.pending.clear()
        self.storms.clear()
