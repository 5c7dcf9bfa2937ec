"""Inspect a workbook in a running LibreOffice through UNO (run with /usr/bin/python3).

Usage: python3 lo_inspect.py PORT WORKBOOK [--run]

Prints one JSON object: the modules of the ``VBAProject`` Basic library, every form
button on every sheet with the script it is bound to, and with ``--run`` the value of
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
        print(json.dumps({"modules": modules, "buttons": buttons, "runs": runs}, ensure_ascii=False))
    finally:
        document.close(True)


if __name__ == "__main__":
    main()
