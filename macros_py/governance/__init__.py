"""Governance: who may do what, and the tamper-evident record of what everyone did.

- :mod:`~macros_py.governance.vocabulary`: the audit actions and their Japanese labels.
- :mod:`~macros_py.governance.access`: the role check every action passes before it runs.
- :mod:`~macros_py.governance.administrator`: the administrator recorded when the 利用者
  tab is empty.
- :mod:`~macros_py.governance.settings_history`: settings changes between runs.
- :mod:`~macros_py.governance.decisions`: staff decisions stored by a run.
- :mod:`~macros_py.governance.verify`: checking the audit log's hash chain.
- :mod:`~macros_py.governance.report`: the yearly access report workbook.

The chain itself is written by :mod:`macros_py.store.audit_chain`.
"""
