#!/usr/bin/env python3
"""Writes the small zip archives in tests/data/zip/ that test runtime/zip.cpp (stdlib only; run from the repo
root). deflated.zip: one deflated member equal to member.txt; stored_two.zip: two stored members;
damaged.zip: deflated.zip with one byte of the deflate stream flipped (the reader must refuse it)."""
import os
import zipfile

out = "tests/data/zip"
os.makedirs(out, exist_ok=True)
text = "".join(f"line {i}: " + ",".join(str(i * j) for j in range(20)) + "\n" for i in range(200))
with open(os.path.join(out, "member.txt"), "w") as f:
    f.write(text)
with zipfile.ZipFile(os.path.join(out, "deflated.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("member.txt", text)
with zipfile.ZipFile(os.path.join(out, "stored_two.zip"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("a.txt", "alpha\n")
    z.writestr("b.txt", "beta\n")
b = bytearray(open(os.path.join(out, "deflated.zip"), "rb").read())
b[30 + len("member.txt") + 5] ^= 0xFF  # inside the deflate stream, after the local header and name
open(os.path.join(out, "damaged.zip"), "wb").write(bytes(b))
