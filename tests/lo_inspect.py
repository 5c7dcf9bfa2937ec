"""Inspect a workbook in a running LibreOffice through UNO (run with /usr/bin/python3).

Usage: python3 lo_inspect.py PORT WORKBOOK [--run]

Prints one JSON object: the modules of the ``VBAProject`` Basic library, every form
button on every sheet with the script it is bound to and its size, each sheet's
visibility, protection and print setup, and with ``--run`` the value of
``xlwings.conf!D1`` after executing each button's bound script (a stub build records the
``RunPython`` argument there).
"""

import json
import sys
import time

import uno  # noqa: F401  (sets up the UNO bridge)
from com.sun.star.beans import PropertyValue


def _property(name, value):
    prop = PropertyValue()
    prop.Name = name
    prop.Value = value
    return prop


def _connect(port):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.time() + 30
    while True:
        try:
            return resolver.resolve(f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext")
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def _buttons(document):
    found = []
    sheets = document.Sheets
    for sheet_index in range(sheets.Count):
        sheet = sheets.getByIndex(sheet_index)
        forms = sheet.DrawPage.Forms
        for form_index in range(forms.Count):
            form = forms.getByIndex(form_index)
            for control_index in range(form.Count):
                control = form.getByIndex(control_index)
                events = [
                    {
                        "listener": e.ListenerType,
                        "method": e.EventMethod,
                        "type": e.ScriptType,
                        "code": e.ScriptCode,
                    }
                    for e in form.getScriptEvents(control_index)
                ]
                label = getattr(control, "Label", "")
                found.append({"sheet": sheet.Name, "label": label, "events": events})
    return found


def _button_sizes(sheet):
    """(label, width, height) of each form button drawn on ``sheet``, in 1/100 mm."""
    sizes = []
    page = sheet.DrawPage
    for index in range(page.Count):
        shape = page.getByIndex(index)
        control = getattr(shape, "Control", None)
        if control is not None:
            sizes.append(
                {
                    "label": getattr(control, "Label", ""),
                    "width": shape.Size.Width,
                    "height": shape.Size.Height,
                }
            )
    return sizes


def _sheets(document):
    styles = document.StyleFamilies.getByName("PageStyles")
    found = []
    for index in range(document.Sheets.Count):
        sheet = document.Sheets.getByIndex(index)
        style = styles.getByName(sheet.PageStyle)
        titles = sheet.TitleRows
        found.append(
            {
                "name": sheet.Name,
                "visible": bool(sheet.IsVisible),
                "protected": bool(sheet.isProtected()),
                "landscape": bool(style.IsLandscape),
                "paper_mm": sorted([round(style.Width / 100), round(style.Height / 100)]),
                "pages_wide": style.ScaleToPagesX,
                "pages_high": style.ScaleToPagesY,
                "title_rows": [titles.StartRow, titles.EndRow] if sheet.PrintTitleRows else None,
                "buttons": _button_sizes(sheet),
                "a1": sheet.getCellRangeByName("A1").getString(),
            }
        )
    return found


def main():
    port, path = sys.argv[1], sys.argv[2]
    run = "--run" in sys.argv[3:]
    context = _connect(port)
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    url = uno.systemPathToFileUrl(path)
    document = desktop.loadComponentFromURL(
        url, "_blank", 0, (_property("Hidden", True), _property("MacroExecutionMode", 4))
    )
    try:
        libraries = document.BasicLibraries
        modules = {}
        if libraries.hasByName("VBAProject"):
            libraries.loadLibrary("VBAProject")
            library = libraries.getByName("VBAProject")
            modules = {name: library.getByName(name) for name in library.ElementNames}
        buttons = _buttons(document)
        sheets = _sheets(document)
        runs = []
        if run:
            provider = document.getScriptProvider()
            conf = document.Sheets.getByName("xlwings.conf")
            for button in buttons:
                for event in button["events"]:
                    if event["method"] != "actionPerformed" and len(button["events"]) > 1:
                        continue
                    conf.getCellRangeByName("D1").setString("")
                    error = ""
                    try:
                        provider.getScript(event["code"]).invoke((), (), ())
                    except Exception as exc:  # reported, the test decides
                        error = str(exc)
                    runs.append(
                        {
                            "label": button["label"],
                            "code": event["code"],
                            "recorded": conf.getCellRangeByName("D1").getString(),
                            "error": error,
                        }
                    )
                    break
        report = {"modules": modules, "buttons": buttons, "sheets": sheets, "runs": runs}
        print(json.dumps(report, ensure_ascii=False))
    finally:
        document.close(True)


if __name__ == "__main__":
    main()
