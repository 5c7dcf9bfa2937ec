"""Build entry: ``python workbook/build.py [OUT.xlsm] [--stub]``.

Same as ``mimamori workbook build --out OUT.xlsm``; ``--stub`` makes the test build whose
``RunPython`` only records its argument in ``xlwings.conf!D1`` (for LibreOffice checks).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from macros_py.book.build import BuildOptions, build_workbook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="みまもり台帳(.xlsm)を作成します。")
    parser.add_argument("out", nargs="?", default="build/mimamori.xlsm")
    parser.add_argument("--stub", action="store_true", help="RunPython を記録だけするテスト用の台帳を作る")
    arguments = parser.parse_args(argv)
    path = build_workbook(Path(arguments.out), options=BuildOptions(runpython_stub=arguments.stub))
    print(f"台帳を作成しました: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
