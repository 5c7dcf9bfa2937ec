"""The vbaProject.bin writer: protection fields, compound file, module extraction."""

from __future__ import annotations

import olefile
import pytest
from oletools.olevba import VBA_Parser

from macros_py.book.vba import VbaModule, build_vba_project
from macros_py.book.vba.project import (
    NO_PASSWORD,
    UNPROTECTED,
    VISIBLE,
    decrypt_project_data,
    encrypt_project_data,
    project_streams,
)
from macros_py.book.vba_sources import vba_modules

SPEC_EXAMPLE_ID = "{917DED54-440B-4FD1-A5C1-74ACF261E600}"


@pytest.mark.parametrize(
    ("value", "data"),
    [
        ("0705D8E3D8EDDBF1DBF1DBF1DBF1", UNPROTECTED),
        ("0E0CD1ECDFF4E7F5E7F5E7", NO_PASSWORD),
        ("1517CAF1D6F9D7F9D706", VISIBLE),
    ],
)
def test_protection_fields_match_the_spec_worked_example(value, data):
    """[MS-OVBA] 3.1.6: CMG, DPB and GC of an unprotected, visible project without password."""
    assert decrypt_project_data(value) == data
    assert encrypt_project_data(SPEC_EXAMPLE_ID, data, seed=int(value[:2], 16)) == value


def test_project_stream_states_unprotected_visible_no_password():
    modules = vba_modules(3, stub_sheet="xlwings.conf")
    text = project_streams(modules)["PROJECT"].decode("cp1252")
    fields = dict(
        line.split("=", 1) for line in text.split("\r\n") if line.startswith(("CMG=", "DPB=", "GC="))
    )
    assert decrypt_project_data(fields["CMG"].strip('"')) == UNPROTECTED
    assert decrypt_project_data(fields["DPB"].strip('"')) == NO_PASSWORD
    assert decrypt_project_data(fields["GC"].strip('"')) == VISIBLE
    assert "Document=ThisWorkbook/&H00000000" in text and "Module=Buttons" in text


def test_compound_file_passes_strict_olefile_and_oletools_extracts_every_module():
    modules = vba_modules(12)
    data = build_vba_project(modules)
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_INCORRECT)
    assert ["VBA", "dir"] in ole.listdir() and ["PROJECT"] in ole.listdir()
    assert ole.openstream("VBA/_VBA_PROJECT").read() == b"\xcc\x61\xff\xff\x00\x01\x00"
    extracted = {
        name: code for _f, _s, name, code in VBA_Parser("vbaProject.bin", data=data).extract_macros()
    }
    expected = {m.name + (".cls" if m.document else ".bas"): m.source for m in modules}
    assert extracted == expected


def test_module_names_and_sources_are_checked():
    with pytest.raises(ValueError):
        VbaModule("1abc", "")
    with pytest.raises(ValueError):
        VbaModule("Modül", "")
    with pytest.raises(ValueError):
        VbaModule("Buttons", "' 設定")
    with pytest.raises(ValueError):
        project_streams((VbaModule("A", ""), VbaModule("a", "")))


def test_same_modules_give_same_bytes():
    assert build_vba_project(vba_modules(4)) == build_vba_project(vba_modules(4))
