"""Trim Qt's ICU data library (Linux): keep what Qt reads through ICU, drop the rest.

PySide6's `libicudata.so.NN` is one 32 MB ICU common-data package (`CmnD`) exported as the
symbol `icudtNN_dat`. Qt uses ICU for collation (QCollator: the file dialog's natural sort),
locale-aware case mapping and non-Unicode text codecs. The app decodes DICOM text with
pydicom's own codecs, so it needs the collation tree and the locale data beneath it, not
the codec tables, time zones, units, currency, language/region names, transliterators, number
spelling or break-iterator rules. `trim(lib)` rewrites the package with the kept items (same
names, order and bytes) and rebuilds the library around it with the C compiler.
"""

from __future__ import annotations

import re
import struct
import subprocess
import tempfile
from pathlib import Path

#: Item names (after "icudtNNl/") kept: the collation tree and the top-level locale bundles
#: and ICU's own property tables (*.icu, *.nrm, *.spp, *.cfu).
KEEP = re.compile(r"^(coll/.*|[^/]+\.(res|icu|nrm|spp|cfu))$")
ALIGN = 16


def _symbol(lib: Path) -> tuple[str, int]:
    """(name, size) of the exported icudtNN_dat symbol."""
    out = subprocess.run(
        ["readelf", "-W", "--dyn-syms", str(lib)], check=True, capture_output=True, text=True
    ).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 8 and re.fullmatch(r"icudt\d+_dat", fields[7]):
            return fields[7], int(fields[2], 0)
    raise ValueError(f"{lib}: no icudtNN_dat symbol")


def _items(package: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(header, [(name, data)]) of a little-endian CmnD package."""
    header_size = struct.unpack_from("<H", package, 0)[0]
    if package[2:4] != b"\xda\x27" or package[12:16] != b"CmnD":
        raise ValueError("not an ICU common-data package")
    toc = package[header_size:]
    count = struct.unpack_from("<I", toc, 0)[0]
    entries = [struct.unpack_from("<II", toc, 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_at, data_at) in enumerate(entries):
        end = entries[i + 1][1] if i + 1 < count else len(toc)
        items.append((toc[name_at : toc.index(b"\0", name_at)].decode("ascii"), toc[data_at:end]))
    return package[:header_size], items


def _pack(header: bytes, items: list[tuple[str, bytes]]) -> bytes:
    """A CmnD package of `items` (names sorted as ICU's binary search expects)."""
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in items)
    toc_size = 4 + 8 * len(items)
    data_at = -(-(toc_size + len(names)) // ALIGN) * ALIGN
    toc, blobs, name_at = [struct.pack("<I", len(items))], [], toc_size
    for name, data in items:
        toc.append(struct.pack("<II", name_at, data_at))
        name_at += len(name) + 1
        padded = data + b"\0" * (-len(data) % ALIGN)
        blobs.append(padded)
        data_at += len(padded)
    body = b"".join(toc) + names
    body += b"\0" * (-len(body) % ALIGN)
    return header + body + b"".join(blobs)


def trim(lib: Path, cc: str = "cc") -> tuple[int, int]:
    """Rewrite `lib` with only the KEEP items; returns (bytes before, bytes after)."""
    raw = lib.read_bytes()
    symbol, size = _symbol(lib)
    start = raw.find(b"CmnD") - 12
    header, items = _items(raw[start : start + size])
    prefix = items[0][0].split("/", 1)[0] + "/"
    kept = [(n, d) for n, d in items if KEEP.match(n.removeprefix(prefix))]
    soname = lib.name
    with tempfile.TemporaryDirectory(prefix="cxr-icu-") as tmp:
        data = Path(tmp) / "icu.dat"
        data.write_bytes(_pack(header, kept))
        source = Path(tmp) / "icudata.c"
        source.write_text(
            f'__asm__(".section .rodata\\n.global {symbol}\\n.type {symbol}, @object\\n'
            f'.balign {ALIGN}\\n{symbol}:\\n.incbin \\"{data}\\"\\n'
            f'.size {symbol}, .-{symbol}\\n.previous\\n");\n',
            encoding="ascii",
        )
        built = Path(tmp) / soname
        subprocess.run(
            [
                cc,
                "-shared",
                "-fPIC",
                "-nostdlib",
                f"-Wl,-soname,{soname}",
                "-o",
                str(built),
                str(source),
            ],
            check=True,
        )
        before = len(raw)
        lib.write_bytes(built.read_bytes())
    return before, lib.stat().st_size
