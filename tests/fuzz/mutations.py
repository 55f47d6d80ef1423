"""Hypothesis strategies that damage real files the way transfers, tools and attackers do:
flipped bits, cuts, inserted and deleted runs, repeated and spliced ranges, and for zip-based
formats (xlsx) the same done to one member, or members dropped, swapped or duplicated."""

import io
import warnings
import zipfile

from hypothesis import strategies as st

# Inserted runs: random bytes, or pieces that parsers treat specially.
TOKENS = [
    b"\x00" * 8,
    b"\xff" * 8,
    b"\xff\xd9",  # JPEG end of image
    b"\xff\xda\x00\x08",  # JPEG start of scan
    b"IEND\xaeB`\x82",
    b"<!DOCTYPE x [<!ENTITY a 'aaaaaaaa'>]>",
    b"<script>alert(1)</script>",
    b"=cmd|' /C calc'!A0",
    b'","',
    b"\r\n",
    "统一社会信用代码".encode(),
]


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """`original` with 1–4 random edits applied one after another."""
    data = bytearray(original)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not data:
            break
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        edit = draw(
            st.sampled_from(["flip", "truncate", "insert", "delete", "repeat", "splice", "token"])
        )
        if edit == "flip":
            data[position] ^= draw(st.integers(min_value=1, max_value=255))
        elif edit == "truncate":
            del data[position:]
        elif edit == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        elif edit == "delete":
            del data[position : position + draw(st.integers(min_value=1, max_value=256))]
        elif edit == "repeat":
            length = draw(st.integers(min_value=1, max_value=512))
            data[position:position] = data[position : position + length]
        elif edit == "splice":
            # A range of the file moved elsewhere in it (a badly resumed transfer).
            start = draw(st.integers(min_value=0, max_value=len(data) - 1))
            length = draw(st.integers(min_value=1, max_value=1024))
            data[position:position] = data[start : start + length]
        else:
            data[position:position] = draw(st.sampled_from(TOKENS))
    return bytes(data)


def _members(archive: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        return [(info, source.read(info)) for info in source.infolist()]


def _zipped(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        warnings.simplefilter("ignore")  # a duplicated member is the point, not an accident
        for name, content in members:
            target.writestr(name, content)
    return buffer.getvalue()


@st.composite
def mutated_zip(draw, original: bytes) -> bytes:
    """A well-formed zip whose members were damaged: one member's bytes mutated, a member
    dropped, one member's content put under another's name, or a member duplicated."""
    members = [(info.filename, content) for info, content in _members(original)]
    index = draw(st.integers(min_value=0, max_value=len(members) - 1))
    name, content = members[index]
    edit = draw(st.sampled_from(["mutate", "mutate", "drop", "swap", "duplicate"]))
    if edit == "mutate":
        members[index] = (name, draw(mutated(content)))
    elif edit == "drop":
        del members[index]
    elif edit == "swap":
        other = draw(st.integers(min_value=0, max_value=len(members) - 1))
        members[index] = (name, members[other][1])
    else:
        members.append((name, draw(mutated(content))))
    return _zipped(members)
