"""The workbook port: build, harvest, file mode and the live (xlwings) adapter.

Only this package and :mod:`macros_py.xl` import xlwings.
"""
