"""Sheet and workbook protection as Excel 2013+ writes it (ECMA-376 / MS-OFFCRYPTO).

When a password is given, Excel stores no password, only a salted, iterated hash:

    H0 = SHA-512(salt + UTF-16LE(password))
    Hn = SHA-512(H(n-1) + n-1 as a 4-byte little-endian integer)   for n = 1 .. spinCount

with a random 16-byte salt and ``spinCount = 100000``; ``hashValue`` and ``saltValue`` are
base64. (The legacy 16-bit ``password="CBEB"`` hash is trivially reversible and never written.)

What protection is worth: it stops accidental edits and signals "this is final" in Excel. It is
NOT security: anyone can remove a ``<sheetProtection>`` element with a zip tool. The proof that a
frozen plan is unchanged is the content hash and the ledger's hash chain (see ``ledger.py``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

ALGORITHM = "SHA-512"
SPIN_COUNT = 100_000


def hash_password(password: str, salt: bytes, spin_count: int = SPIN_COUNT) -> bytes:
    """The ECMA-376 agile password hash (SHA-512, salted, ``spin_count`` iterations)."""
    digest = hashlib.sha512(salt + password.encode("utf-16-le")).digest()
    for i in range(spin_count):
        digest = hashlib.sha512(digest + i.to_bytes(4, "little")).digest()
    return digest


@dataclass(frozen=True)
class PasswordHash:
    """The four attributes Excel writes for a password-protected sheet or workbook."""

    hash_value: str  # base64
    salt_value: str  # base64
    spin_count: int = SPIN_COUNT
    algorithm: str = ALGORITHM

    @classmethod
    def create(cls, password: str, salt: bytes | None = None) -> PasswordHash:
        salt = os.urandom(16) if salt is None else salt
        digest = hash_password(password, salt)
        return cls(base64.b64encode(digest).decode(), base64.b64encode(salt).decode())

    def matches(self, password: str) -> bool:
        """True when ``password`` produces this hash (what Excel checks on Unprotect)."""
        digest = hash_password(password, base64.b64decode(self.salt_value), self.spin_count)
        return base64.b64encode(digest).decode() == self.hash_value


def sheet_protection_attrs(pw: PasswordHash | None, *, chartsheet: bool = False) -> dict[str, str]:
    """Attributes of ``<sheetProtection>``: everything locked, locked cells still selectable.

    Worksheets: ``sheet="1" objects="1" scenarios="1"`` (formatting, inserting, deleting,
    sorting, filtering and pivoting stay forbidden by their defaults). Chartsheets:
    ``content="1" objects="1"``.
    """
    attrs: dict[str, str] = {}
    if pw is not None:
        attrs = {
            "algorithmName": pw.algorithm,
            "hashValue": pw.hash_value,
            "saltValue": pw.salt_value,
            "spinCount": str(pw.spin_count),
        }
    if chartsheet:
        attrs.update(content="1", objects="1")
    else:
        attrs.update(sheet="1", objects="1", scenarios="1")
    return attrs


def workbook_protection_attrs(pw: PasswordHash | None) -> dict[str, str]:
    """Attributes of ``<workbookProtection>``: the structure (sheet list) locked."""
    attrs: dict[str, str] = {}
    if pw is not None:
        attrs = {
            "workbookAlgorithmName": pw.algorithm,
            "workbookHashValue": pw.hash_value,
            "workbookSaltValue": pw.salt_value,
            "workbookSpinCount": str(pw.spin_count),
        }
    attrs["lockStructure"] = "1"
    return attrs
