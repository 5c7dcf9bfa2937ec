"""One writer module per department group; :data:`ALL_SOURCES` lists every export."""

from __future__ import annotations

from macros_py.synth.exports.resident import GAKUREIBO, JUMIN, write_gakureibo, write_jumin
from macros_py.synth.exports.school import (
    ACADEMIC_TEST,
    ATTENDANCE,
    FITNESS_TEST,
    MENTAL_CHECK,
    SCHOOL_HEALTH,
    write_school_exports,
)
from macros_py.synth.exports.spec import SourceSpec

__all__ = ["ALL_SOURCES", "EXPORT_STEPS"]

ALL_SOURCES: tuple[SourceSpec, ...] = (
    JUMIN,
    GAKUREIBO,
    ATTENDANCE,
    SCHOOL_HEALTH,
    MENTAL_CHECK,
    ACADEMIC_TEST,
    FITNESS_TEST,
)

EXPORT_STEPS = (
    ("jumin", write_jumin),
    ("gakureibo", write_gakureibo),
    ("school", write_school_exports),
)
