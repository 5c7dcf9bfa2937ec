"""Our own ``vbaProject.bin`` writer: [MS-OVBA] streams in an [MS-CFB] compound file."""

from __future__ import annotations

from macros_py.book.vba.cfb import write_compound_file
from macros_py.book.vba.project import VbaModule, project_streams

__all__ = ["VbaModule", "build_vba_project"]


def build_vba_project(modules: tuple[VbaModule, ...]) -> bytes:
    """The bytes of a ``vbaProject.bin`` holding ``modules`` (document modules first).

    Args:
        modules: Module names and sources.

    Returns:
        A compound file that Office compiles from source when it opens the workbook.
    """
    return write_compound_file(project_streams(modules))
