"""One writer module per department group; :data:`ALL_SOURCES` lists every export."""

from __future__ import annotations

from macros_py.synth.exports.consultation import CONSULTATION, OPT_OUT, YOTAIKYO, write_consultation_exports
from macros_py.synth.exports.education import KYUSHOKU, SHUGAKU_ENJO, SSW, write_education_exports
from macros_py.synth.exports.maternal import CHECKUP, EPDS, PREGNANCY, VACCINATION, write_maternal_exports
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
from macros_py.synth.exports.welfare import (
    DISABILITY,
    DISABILITY_CHILD,
    JIFU,
    KAIGO,
    KOKUHO,
    SEIHO,
    write_welfare_exports,
)

__all__ = ["ALL_SOURCES", "EXPORT_STEPS"]

ALL_SOURCES: tuple[SourceSpec, ...] = (
    JUMIN,
    GAKUREIBO,
    ATTENDANCE,
    SCHOOL_HEALTH,
    MENTAL_CHECK,
    ACADEMIC_TEST,
    FITNESS_TEST,
    CHECKUP,
    PREGNANCY,
    EPDS,
    VACCINATION,
    SEIHO,
    JIFU,
    DISABILITY,
    DISABILITY_CHILD,
    KAIGO,
    KOKUHO,
    SHUGAKU_ENJO,
    KYUSHOKU,
    SSW,
    CONSULTATION,
    YOTAIKYO,
    OPT_OUT,
)

EXPORT_STEPS = (
    ("jumin", write_jumin),
    ("gakureibo", write_gakureibo),
    ("school", write_school_exports),
    ("maternal", write_maternal_exports),
    ("welfare", write_welfare_exports),
    ("education", write_education_exports),
    ("consultation", write_consultation_exports),
)
