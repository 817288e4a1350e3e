#!/usr/bin/env python3
"""Packs input files into one libFuzzer seed for a target that splits its input with FuzzedDataProvider
(tools/fuzz/fuzz_loaders.cpp): every file but the last as a ConsumeRandomLengthString (backslashes doubled,
ended by a backslash and another byte), the last file as the remaining bytes, then the integer bytes the
target consumes from the end (given in hex, the last byte consumed first).

  pack_seed.py OUT TAIL_HEX FILE [FILE ...]      # FILE "-" stands for an empty part
"""
import sys


def main():
    out, tail, files = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3:]
    parts = [b"" if f == "-" else open(f, "rb").read() for f in files]
    body = b"".join(p.replace(b"\\", b"\\\\") + b"\\x" for p in parts[:-1]) + parts[-1]
    with open(out, "wb") as f:
        f.write(body + tail)


if __name__ == "__main__":
    main()
