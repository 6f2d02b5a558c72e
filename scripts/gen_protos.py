"""Generate Python code from protos/ into crm_platform/proto_gen/.

    python scripts/gen_protos.py          # regenerate
    python scripts/gen_protos.py --check  # exit 1 if the checked-in code is stale

protoc emits absolute imports (``from crm.beneficiaries.v1 import ...``); they are
rewritten to live under ``crm_platform.proto_gen`` so no sys.path tricks are needed.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT = ROOT / "crm_platform" / "proto_gen"
PACKAGE = "crm_platform.proto_gen"
IMPORT_RE = re.compile(r"^(from|import) crm\.", re.MULTILINE)


def generate(out: Path) -> None:
    # protoc finds the mypy plugins (protoc-gen-mypy*) on PATH, next to this interpreter.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    well_known = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for path in out.rglob("*.py*"):
        text = IMPORT_RE.sub(lambda m: f"{m.group(1)} {PACKAGE}.crm.", path.read_text())
        path.write_text(text)
    for folder in [out, *[p for p in out.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()


def tree_differs(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b)
    problems = [*cmp.left_only, *cmp.right_only, *cmp.diff_files]
    for sub in cmp.common_dirs:
        problems += [f"{sub}/{p}" for p in tree_differs(a / sub, b / sub)]
    return [p for p in problems if p != "__pycache__"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        if args.check:
            stale = tree_differs(fresh, OUT) if OUT.exists() else ["(missing)"]
            if stale:
                print("generated protobuf code is stale; run `make protos`:", *stale, sep="\n  ")
                return 1
            print("generated protobuf code is up to date")
            return 0
        shutil.rmtree(OUT, ignore_errors=True)
        shutil.copytree(fresh, OUT)
    print(f"generated {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
