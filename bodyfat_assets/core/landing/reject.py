"""Why a landed file cannot be accepted: raised wherever the file contract is checked (sensor or run)."""

from __future__ import annotations


class Reject(Exception):
    """A landed file that cannot be accepted; `code` is one of REJECTION_CODES."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail
