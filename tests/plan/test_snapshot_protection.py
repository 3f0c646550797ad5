"""The SHA-512 password hash of sheet/workbook protection (ECMA-376, MS-OFFCRYPTO 2.3.7.1)."""

from __future__ import annotations

import base64
import hashlib

from sop_xl.io.xlsx.protection import (
    PasswordHash,
    hash_password,
    sheet_protection_attrs,
    workbook_protection_attrs,
)

# Known answer published in ClosedXML's test suite (HashAlgorithmTests.TestSHA512), which
# checks the hash Excel writes: password "12345", this salt, 100000 spins.
KNOWN_SALT = "aVvPw1DNH3evPqRAd/y3UQ=="
KNOWN_HASH = (
    "E+qAhyIg/HM0dUrPaENfimFOZp7wlOkJsf/sdG+AGHOA9grOv7VLb1ik2vuYohljI9G36e0ea9wnixCK0MMuyQ=="
)


def test_known_vector() -> None:
    digest = hash_password("12345", base64.b64decode(KNOWN_SALT))
    assert base64.b64encode(digest).decode() == KNOWN_HASH
    pw = PasswordHash(KNOWN_HASH, KNOWN_SALT)
    assert pw.matches("12345") and not pw.matches("12346")


def test_hand_unrolled_small_spin_count() -> None:
    """Two iterations written out: H0 = SHA512(salt + UTF-16LE(pw)); Hn = SHA512(H(n-1) + n-1)."""
    salt = bytes(range(16))
    h0 = hashlib.sha512(salt + "Pläne".encode("utf-16-le")).digest()
    h1 = hashlib.sha512(h0 + b"\x00\x00\x00\x00").digest()
    h2 = hashlib.sha512(h1 + b"\x01\x00\x00\x00").digest()
    assert hash_password("Pläne", salt, spin_count=2) == h2
    assert hash_password("Pläne", salt, spin_count=0) == h0


def test_fresh_salt_every_time_and_attributes() -> None:
    a, b = PasswordHash.create("pw"), PasswordHash.create("pw")
    assert a.salt_value != b.salt_value and a.hash_value != b.hash_value
    assert len(base64.b64decode(a.salt_value)) == 16
    assert len(base64.b64decode(a.hash_value)) == 64
    assert a.matches("pw") and b.matches("pw")
    attrs = sheet_protection_attrs(a)
    assert attrs == {
        "algorithmName": "SHA-512",
        "hashValue": a.hash_value,
        "saltValue": a.salt_value,
        "spinCount": "100000",
        "sheet": "1",
        "objects": "1",
        "scenarios": "1",
    }
    assert sheet_protection_attrs(None) == {"sheet": "1", "objects": "1", "scenarios": "1"}
    assert sheet_protection_attrs(None, chartsheet=True) == {"content": "1", "objects": "1"}
    wb = workbook_protection_attrs(a)
    assert wb["workbookAlgorithmName"] == "SHA-512" and wb["workbookSpinCount"] == "100000"
    assert wb["lockStructure"] == "1"
    assert workbook_protection_attrs(None) == {"lockStructure": "1"}
