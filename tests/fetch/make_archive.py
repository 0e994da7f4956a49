#!/usr/bin/env python3
"""make_archive.py zip|tar OUT ROOT: every file under ROOT into OUT, named relative to ROOT."""
import os
import sys
import tarfile
import zipfile

fmt, out, root = sys.argv[1:4]
files = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
if fmt == "zip":
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(os.path.join(root, f), f)
else:
    with tarfile.open(out, "w") as t:
        for f in files:
            t.add(os.path.join(root, f), f)
