"""A second process for the freeze: it freezes some of the sheets, then computes the canonical
lines of some sheets of the content hash.

A freeze of a large workbook (the demo plan: 60 sheets, 2.3 M cells) spends its time in two
pieces of work, each sheet by sheet and each holding the GIL (so a thread does not help): the
sheets' transformation (formulas to values, numbers at 15 digits: :func:`sop_xl.plan.freeze.
transform_values`), then the content hash, reading the frozen cells back with python-calamine and
building each sheet's canonical lines (:func:`sop_xl.plan.content_hash.content_hash`). On a
machine with two or more cores the freeze starts this helper as it begins (its interpreter and
imports load while the freeze reads the workbook) and shares each piece of work with it: both
walk the sheets largest first and each does the next one nobody took yet
(:class:`sop_xl.io.spawn.Claims`), so both end about together however long a sheet takes; the
freeze then takes the helper's sheets. What is computed
is unchanged, only where: the freeze still gives the sheets' texts to the shared strings in sheet
order, and still feeds SHA-256 with every sheet's lines in workbook order, so the package and its
hash are the ones one process makes.

The helper is an optimisation and never a dependency. Nothing starts when
``SOP_XL_BACKGROUND=off`` (the switch of every helper process, :mod:`sop_xl.io.spawn`: the test
suite, a scheduler that wants one process), on a one-core machine, or for a small workbook; and
any failure of the helper (it cannot be started, exits, answers late or garbled) leaves its
sheets to the freeze, which does them as it always did.

The protocol, on the helper's standard input: jobs, each one JSON line ``{"job": ..., "path":
..., "size": ..., "code": ...}`` (``path`` null: ``size`` bytes of the workbook follow; ``code``:
see :func:`_code`), the helper answering each on its standard output before it reads the next;
the end of the input ends it.

Each job names its pieces (largest first) and ``"claims"``, the folder of a
:class:`sop_xl.io.spawn.Claims`: the helper and the caller both walk the pieces and each does
the ones it takes, so they end about together whatever a piece costs. The helper answers for
each piece it took, starting with the piece's position in the list; all integers are unsigned,
64-bit, little-endian (a position is below 2**16, so an answer never starts with the end mark).

- ``"job": "transform"``, with ``"parts"`` (worksheet parts), ``"protection"`` and
  ``"date1904"``: position, the frozen XML's byte length, the formula count, 1 if the sheet has
  data, the byte length of the JSON list of cells without a value; the XML and that JSON; then
  ``b"end"``.
- ``"job": "lines"`` (the default), with ``"sheets"``: position, the byte length of the
  sheet's lines (UTF-8) and its cell count; the lines; then ``b"end"``.
"""

from __future__ import annotations

import contextlib
import functools
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

#: The caller's own work besides its sheets, as sheet XML read in the same time (taking the
#: helper's answers, feeding SHA-256 with every sheet's lines): counted when deciding whether a
#: helper is worth starting (:func:`worth_sharing`).
COMBINE_BYTES = 4 << 20
#: Seconds the parent waits for the helper once its own sheets are done, then computes the
#: helper's sheets itself (a helper that far behind is stuck, or the machine is swamped).
WAIT_SECONDS = 120.0

_HEAD = struct.Struct("<QQQ")
_FROZEN = struct.Struct("<QQQQQ")
#: Pieces a job may name (positions below this: see the module docstring).
MAX_PIECES = 1 << 16
_END = b"end"

#: A sheet the helper froze: its XML, formula count, cells without a value, whether it has data.
Frozen = tuple[bytes, int, list[str], bool]


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


@functools.cache
def _code() -> str:
    """A digest of the code whose results the helper hands back (the sheets' transformation and
    the canonical lines) and of the protocol: the helper works only if it runs the same as the
    caller (an older installed copy beside a newer one must not be mixed)."""
    from sop_xl.plan import content_hash, freeze

    digest = hashlib.sha256()
    for module in (content_hash, freeze, sys.modules[__name__], spawn):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def start_for(xlsx: bytes, started: Helper | None = None) -> Helper | None:
    """:func:`start`, for a workbook whose sheets are large enough to be shared. ``started``: a
    helper the caller started before it knew the workbook (its imports are done or under way:
    it is marked :attr:`Helper.ready`), used, or closed when the workbook is too small."""
    sizes = sheet_sizes(xlsx)
    if enabled() and worth_sharing(list(sizes.values()), ready=True):
        if started is None:
            return start()
        started.ready = True
        return started
    if started is not None:
        started.close()
    return None


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


def worth_sharing(sizes: Sequence[int], *, ready: bool) -> bool:
    """Whether sheets of these ``sizes`` (bytes) are worth a second process: split as
    :func:`sop_xl.io.spawn.share` would, the helper gets enough (not when the sheets are small,
    or one sheet is most of them). ``ready``: the helper was started already. Who does which
    sheet is then decided as they go (:class:`sop_xl.io.spawn.Claims`)."""
    return bool(spawn.share(sizes, helpers=1, ready=int(ready), busy=COMBINE_BYTES))


class Helper:
    """The parent's end of one helper process: at most one :meth:`transform` (then
    :meth:`transformed`), then at most one :meth:`send` (then :meth:`result`)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        #: started well before its first job: its start costs that job nothing
        self.ready = False
        self._sheets: list[str] = []
        self._out: list[bytes] = []
        self._thread: threading.Thread | None = None

    @staticmethod
    def _job(job: dict, source: Path | bytes) -> bytes:
        """The job's line, then the workbook's bytes if it has no path the helper can read."""
        in_memory = isinstance(source, bytes | bytearray)
        job.update(
            path=None if in_memory else str(Path(source).resolve()),
            size=len(source) if in_memory else 0,
            code=_code(),
        )
        head = json.dumps(job).encode() + b"\n"
        return head + bytes(source) if in_memory else head

    def _begin(self, target, payload: bytes) -> None:
        self._out = []
        self._thread = threading.Thread(target=target, args=(payload,), daemon=True)
        self._thread.start()

    def _answer(self) -> bytes | None:
        """The answer of the job under way, waiting up to :data:`WAIT_SECONDS` from this call
        (the caller's own share is done); None when it failed in any way or is later than that
        (the helper is then ended: the caller does that share itself)."""
        if self._thread is None:
            return None
        self._thread.join(WAIT_SECONDS)
        if self._thread.is_alive() or not self._out:
            self.close()
            return None
        return self._out[0]

    def transform(
        self,
        source: Path | bytes,
        parts: Sequence[str],
        claims: spawn.Claims,
        *,
        protection: dict[str, str],
        date1904: bool,
    ) -> bool:
        """Hand the helper the worksheet ``parts`` of the workbook ``source`` (largest first)
        to freeze (:func:`sop_xl.plan.freeze.transform_values`), each one it takes from
        ``claims`` (written by a thread: the caller goes on, taking the others); False when
        there is nothing to send or a job was sent already."""
        if not parts or len(parts) > MAX_PIECES or self._thread is not None:
            return False
        self._sheets = list(parts)
        job = {"job": "transform", "parts": self._sheets, "claims": str(claims.folder)}
        job.update(protection=protection, date1904=date1904)
        self._begin(self._talk_transform, self._job(job, source))
        return True

    def _talk_transform(self, payload: bytes) -> None:
        """Send the job, the input kept open for the next one, and read the answer (its end
        mark says where it ends)."""
        stdin, stdout = self.proc.stdin, self.proc.stdout
        try:
            stdin.write(payload)
            stdin.flush()
            chunks = []
            while (start := stdout.read(len(_END))) != _END:
                head = start + stdout.read(_FROZEN.size - len(start))
                chunks.append(head)
                if len(head) < _FROZEN.size:
                    return
                _, size, _, _, listed = _FROZEN.unpack(head)
                chunks.append(stdout.read(size + listed))
            chunks.append(_END)
        except Exception:  # a broken pipe: transformed() finds nothing and says so
            return
        self._out.append(b"".join(chunks))

    def transformed(self) -> dict[str, Frozen]:
        """``{part: (frozen XML, formula count, cells without a value, has data)}`` of the parts
        the helper took (see :meth:`_answer`); empty when it failed (the caller freezes those)."""
        out = self._answer()
        return {} if out is None else _parse_frozen(out, self._sheets)

    def send(self, source: Path | bytes, sheets: Sequence[str], claims: spawn.Claims) -> bool:
        """Hand the helper ``sheets`` of ``source`` (largest first) for their canonical lines,
        each one it takes from ``claims`` (written by a thread: the caller goes on, taking the
        others), its last job; False when there is nothing to send or the job before failed."""
        if (
            not sheets
            or len(sheets) > MAX_PIECES
            or (self._thread is not None and not self._out)
            or self.proc.poll() is not None
        ):
            return False
        self._sheets = list(sheets)
        job = {"job": "lines", "sheets": self._sheets, "claims": str(claims.folder)}
        self._begin(self._talk, self._job(job, source))
        return True

    def _talk(self, payload: bytes) -> None:
        """Send the last job and read the answer, however long the helper takes: the parent's
        patience starts when its own sheets are done (:meth:`result`), and a helper it gives
        up on is killed (:meth:`close`), which ends this."""
        try:
            out, _ = self.proc.communicate(payload)
        except Exception:  # a broken pipe: result() finds nothing and says so
            return
        if self.proc.returncode == 0:
            self._out.append(out)

    def result(self) -> dict[str, tuple[bytes, int]]:
        """``{sheet: (lines as UTF-8, cell count)}`` of the sheets the helper took (see
        :meth:`_answer`); empty when it failed (the caller then computes those sheets)."""
        out = self._answer()
        return {} if out is None else _parse(out, self._sheets)

    def close(self) -> None:
        """End the helper: one with no job under way reads the end of its input and leaves;
        one still at work is killed. Its pipes are closed."""
        proc = self.proc
        idle = self._thread is None or not self._thread.is_alive()
        if proc.poll() is None and idle:
            with contextlib.suppress(OSError, ValueError, subprocess.TimeoutExpired):
                proc.stdin.close()
                proc.wait(5)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if self._thread is not None:
            self._thread.join(5)  # its reads return once the pipes are at their end
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _parse_frozen(out: bytes, parts: Sequence[str]) -> dict[str, Frozen]:
    got: dict[str, Frozen] = {}
    at = 0
    try:
        while out[at:] != _END:
            index, size, formulas, has_data, listed = _FROZEN.unpack_from(out, at)
            at += _FROZEN.size
            if index >= len(parts) or parts[index] in got or at + size + listed > len(out):
                return {}
            missing = json.loads(out[at + size : at + size + listed])
            got[parts[index]] = (out[at : at + size], formulas, missing, bool(has_data))
            at += size + listed
    except (struct.error, ValueError):
        return {}
    return got


def _parse(out: bytes, sheets: Sequence[str]) -> dict[str, tuple[bytes, int]]:
    got: dict[str, tuple[bytes, int]] = {}
    at = 0
    while out[at:] != _END:
        if at + _HEAD.size > len(out):
            return {}
        index, size, count = _HEAD.unpack_from(out, at)
        at += _HEAD.size
        if index >= len(sheets) or sheets[index] in got or at + size > len(out):
            return {}
        got[sheets[index]] = (out[at : at + size], count)
        at += size
    return got


def _frozen(source: Path | bytes, job: dict) -> bytes:
    """A transform job's answer (see the module docstring)."""
    from sop_xl.io.xlsx.parts import Package
    from sop_xl.plan.freeze import transform_values

    protection, date1904 = dict(job["protection"]), bool(job["date1904"])
    claims = spawn.Claims(Path(job["claims"]))
    out = []
    with Package(source) as pkg:
        for index, part in enumerate(job["parts"]):
            if not claims.take(index, unsure=False):  # the caller's, or it does an unsure one
                continue
            res = transform_values(
                pkg.read(part), name=part, part=part, file=pkg.path.name,
                protection=protection, values=None, date1904=date1904,
            )  # fmt: skip
            missing = json.dumps(res.missing).encode()
            head = (index, len(res.data), res.formulas, res.has_data, len(missing))
            out += [_FROZEN.pack(*head)]
            out += [res.data, missing]
    return b"".join([*out, _END])


def main() -> int:
    """The helper: answer each job from standard input on standard output, until the input
    ends; any failure is an exit code, and the parent does the helper's share itself."""
    from sop_xl.plan import content_hash, freeze  # noqa: F401  (loaded while the parent works)

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while head := stdin.readline():
        if not head.strip():
            break
        job = json.loads(head)
        if job.get("code") != _code():
            return 3
        if job.get("path") is not None:
            source: Path | bytes = Path(job["path"])
        else:
            source = stdin.read(job["size"])
            if len(source) != job["size"]:
                return 4
        if job.get("job") == "transform":
            stdout.write(_frozen(source, job))
        else:
            claims = spawn.Claims(Path(job["claims"]))
            taken = functools.partial(claims.take, unsure=False)  # the caller's, or unsure
            for index, lines, count in content_hash.sheet_lines(source, job["sheets"], taken):
                stdout.write(_HEAD.pack(index, len(lines), count))
                stdout.write(lines)
            stdout.write(_END)
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
