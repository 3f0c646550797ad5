"""A second process that computes the canonical lines of some sheets of a content hash.

The content hash of a large workbook (the demo plan: 60 sheets, 2.3 M cells) is mostly reading
the cells with python-calamine and building each sheet's canonical lines
(:func:`sop_xl.plan.content_hash.content_hash`); both hold the GIL, so a thread does not help.
On a machine with two or more cores :func:`content_hash` hands about half the sheet bytes to a
helper process (:func:`main`): the parent sends the workbook's path (or its bytes) and the names
of the helper's sheets, computes the other sheets itself, and feeds SHA-256 with every sheet's
lines in workbook order. The hash and its definition are unchanged: only where the lines of a
sheet are computed changes.

The helper is an optimisation and never a dependency. Nothing starts when
``SOP_XL_BACKGROUND=off`` (the switch of every helper process, :mod:`sop_xl.io.spawn`: the test
suite, a scheduler that wants one process), on a one-core machine, or for a small workbook; and
any failure of the helper (it cannot be started, exits, answers late or garbled) leaves its
sheets to the parent, which computes them as it always did.

The protocol, on the helper's standard input: one JSON line ``{"sheets": [...], "path": ...,
"code": ...}`` (``path`` null: the workbook's bytes follow, up to the end of the input; ``code``:
see :func:`_code`). On its standard output, for each of those sheets in order: the byte length
of its lines (UTF-8) and its cell count (two unsigned 64-bit little-endian integers), then the
lines; then ``b"end"``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import struct
import subprocess
import sys
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

from sop_xl.io import spawn

#: The caller's own work besides its sheets, as sheet XML read in the same time: taking the
#: helper's lines from the pipe and feeding SHA-256 with every sheet's (on the demo plan the
#: helper then takes the forecast archive and 27 small sheets, 46 of 89 MB; docs/benchmarks.md).
COMBINE_BYTES = 4 << 20
#: Seconds the parent waits for the helper once its own sheets are done, then computes the
#: helper's sheets itself (a helper that far behind is stuck, or the machine is swamped).
WAIT_SECONDS = 120.0

_HEAD = struct.Struct("<QQ")
_END = b"end"


def enabled() -> bool:
    """Whether a helper may be started here: helpers not switched off
    (:func:`sop_xl.io.spawn.enabled`), and a second core to run on."""
    return spawn.spare_cores() > 0


def start() -> Helper | None:
    """A helper process waiting for its work, or None (switched off, or no process here).

    Start it early: its interpreter and imports then load while the caller works. It refuses
    work if its canonical lines could differ from the caller's (:func:`_code`)."""
    if not enabled():
        return None
    proc = spawn.start("sop_xl.plan.hash_helper", [], pipe=True, output=True)
    return Helper(proc) if proc is not None else None


def _code() -> str:
    """A digest of the code that makes the canonical lines: the helper works only if it runs
    the same as the caller (an older installed copy beside a newer one must not be mixed)."""
    from sop_xl.plan import content_hash

    return hashlib.sha256(Path(content_hash.__file__).read_bytes()).hexdigest()


def start_for(xlsx: bytes) -> Helper | None:
    """:func:`start`, for a workbook whose sheets are large enough to be shared."""
    sizes = sheet_sizes(xlsx)
    if not enabled() or not share(list(sizes), list(sizes.values()), ready=True):
        return None
    return start()


def sheet_sizes(source: Path | bytes) -> dict[str, int]:
    """Sheet name -> uncompressed bytes of its XML, in workbook order, from the zip's directory
    (:func:`sop_xl.io.xlsx.parts.sheet_part_sizes`; empty when it cannot be read: the reader
    then says what is wrong)."""
    from sop_xl.io.xlsx.parts import sheet_part_sizes

    file = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        with zipfile.ZipFile(file) as zf:
            return {name: size for name, (_part, size) in sheet_part_sizes(zf).items()}
    except Exception:  # not a zip, or a damaged one
        return {}


def share(names: Sequence[str], sizes: Sequence[int], *, ready: bool) -> list[str]:
    """The sheets for the helper (:func:`sop_xl.io.spawn.share`: about half the bytes, none when
    the sheets are too small to be worth a second process or one sheet is most of them);
    ``ready``: the helper was started already."""
    shares = spawn.share(sizes, helpers=1, ready=int(ready), busy=COMBINE_BYTES)
    return [names[i] for i in shares[0]] if shares else []


class Helper:
    """The parent's end of one helper process (one job: :meth:`send`, then :meth:`result`)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self._sheets: list[str] = []
        self._out: list[bytes] = []
        self._thread: threading.Thread | None = None

    def send(self, source: Path | bytes, sheets: Sequence[str]) -> bool:
        """Hand the helper ``sheets`` of ``source`` (written by a thread: the caller goes on);
        False when there is nothing to send."""
        if not sheets:
            return False
        self._sheets = list(sheets)
        path = None if isinstance(source, bytes | bytearray) else str(Path(source).resolve())
        job = {"sheets": self._sheets, "path": path, "code": _code()}
        head = json.dumps(job).encode() + b"\n"
        payload = head if path is not None else head + bytes(source)
        self._thread = threading.Thread(target=self._talk, args=(payload,), daemon=True)
        self._thread.start()
        return True

    def _talk(self, payload: bytes) -> None:
        """Send the job and read the answer, however long the helper takes: the parent's
        patience starts when its own sheets are done (:meth:`result`), and a helper it gives
        up on is killed (:meth:`close`), which ends this."""
        try:
            out, _ = self.proc.communicate(payload)
        except Exception:  # a broken pipe: result() finds nothing and says so
            return
        if self.proc.returncode == 0:
            self._out.append(out)

    def result(self) -> dict[str, tuple[bytes, int]]:
        """``{sheet: (lines as UTF-8, cell count)}`` from the helper, waiting for it up to
        :data:`WAIT_SECONDS` from this call (the caller's own sheets are done); empty when it
        failed in any way or is later than that (the caller then computes those sheets)."""
        if self._thread is None:
            return {}
        self._thread.join(WAIT_SECONDS)
        if self._thread.is_alive() or not self._out:
            self.close()
            return {}
        return _parse(self._out[0], self._sheets)

    def close(self) -> None:
        """End the helper: an empty input ends one never given work; one still at work is
        killed. Its pipes are closed."""
        proc = self.proc
        if proc.poll() is None and self._thread is None:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                proc.stdin.close()
                proc.wait(5)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if self._thread is not None:
            self._thread.join(5)  # communicate() returns once the pipes are at their end
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _parse(out: bytes, sheets: Sequence[str]) -> dict[str, tuple[bytes, int]]:
    got: dict[str, tuple[bytes, int]] = {}
    at = 0
    for name in sheets:
        if at + _HEAD.size > len(out):
            return {}
        size, count = _HEAD.unpack_from(out, at)
        at += _HEAD.size
        if at + size > len(out):
            return {}
        got[name] = (out[at : at + size], count)
        at += size
    return got if out[at:] == _END else {}


def main() -> int:
    """The helper: read the job from standard input, write the sheets' lines to standard
    output; any failure is an exit code, and the parent computes those sheets itself."""
    from sop_xl.plan.content_hash import sheet_lines  # loaded while the parent still works

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    head = stdin.readline()
    if not head.strip():  # closed without work: the parent did not need us
        return 0
    job = json.loads(head)
    if job.get("code") != _code():
        return 3
    source = Path(job["path"]) if job["path"] is not None else stdin.read()
    for lines, count in sheet_lines(source, job["sheets"]):
        stdout.write(_HEAD.pack(len(lines), count))
        stdout.write(lines)
    stdout.write(_END)
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
