"""Writes a byte-level RWKV World vocabulary (256 tokens, id = byte + 1) for the bench scripts:
every text tokenizes, without the real vocabulary file.
    usage: python3 byte_vocab.py OUT.txt"""
import sys

with open(sys.argv[1], "w") as f:
    for b in range(256):
        f.write("%d b'\\x%02x' 1\n" % (b + 1, b))
