#!/usr/bin/env python3
"""Reference reader for the Budlink conformance vectors (docs/PROTOCOL.md section 11), in plain Python 3.

It shows how another language reads the vectors, and checks them without any Budlink code: the
structure of schema.json, that each vector's field bytes add up to its hex, that every integer value is
what its little-endian bytes say and every text value what its ASCII bytes say, and that the names are
unique. Run it with the vector files (default: golden.json and errors.json next to it); it prints one
line per file and exits 1 on any problem, naming the vector and the field.

To run the vectors against your own decoder, replace check_vector's body with: decode bytes.fromhex(hex)
(with maxPayload when given, else 244); for a golden vector compare each field with its value (or its
bytes for byte fields); for an error vector expect a failure with error.code and error.fault.
"""
import json
import os
import sys

FORMAT = "budlink-vectors/2"
TEXT_FIELDS = {"board", "message", "text"}


def problems_of(vector, kind):
    """The problems of one vector (empty: none)."""
    out = []
    name = vector.get("name", "?")
    allowed = {"name", "comment", "hex", "fields", "maxPayload", "error"}
    for key in vector:
        if key not in allowed:
            out.append(f"{name}: unknown key {key!r}")
    for key in ("name", "comment", "hex", "fields"):
        if key not in vector:
            out.append(f"{name}: missing {key!r}")
    if out:
        return out
    if kind == "errors" and "error" not in vector:
        out.append(f"{name}: an error vector without 'error'")
    if kind == "golden" and "error" in vector:
        out.append(f"{name}: a golden vector with 'error'")
    joined = ""
    for f in vector["fields"]:
        field, raw = f.get("field"), f.get("bytes", "")
        if not isinstance(field, str) or not isinstance(raw, str) or len(raw) % 2:
            out.append(f"{name}: malformed field {f!r}")
            continue
        joined += raw
        if "value" not in f:
            continue
        data = bytes.fromhex(raw)
        value = f["value"]
        if isinstance(value, str):
            if field not in TEXT_FIELDS or data.decode("ascii", "replace") != value:
                out.append(f"{name}.{field}: text {value!r} is not its bytes {raw}")
        elif int.from_bytes(data, "little") != value:
            out.append(f"{name}.{field}: {value} is not its little-endian bytes {raw}")
    if joined != vector["hex"]:
        out.append(f"{name}: the fields' bytes do not add up to hex")
    mp = vector.get("maxPayload")
    if mp is not None and not (isinstance(mp, int) and 20 <= mp <= 244):
        out.append(f"{name}: maxPayload {mp!r} outside 20..244")
    err = vector.get("error")
    if err is not None:
        for key in ("code", "codeName", "fault", "faultName", "offset"):
            if key not in err:
                out.append(f"{name}: error without {key!r}")
    return out


def read(path):
    """(vectors, problems) of one vector file."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    kind = "errors" if os.path.basename(path).startswith("errors") else "golden"
    problems = []
    if doc.get("format") != FORMAT:
        problems.append(f"format {doc.get('format')!r}, not {FORMAT!r}")
    vectors = doc.get("vectors", [])
    seen = set()
    for v in vectors:
        if v.get("name") in seen:
            problems.append(f"{v.get('name')}: name used twice")
        seen.add(v.get("name"))
        problems.extend(problems_of(v, kind))
    return vectors, problems


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    paths = argv[1:] or [os.path.join(here, "golden.json"), os.path.join(here, "errors.json")]
    failed = False
    for path in paths:
        vectors, problems = read(path)
        for p in problems:
            print(f"{os.path.basename(path)}: {p}")
        print(f"{os.path.basename(path)}: {len(vectors)} vectors, {len(problems)} problem(s)")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
