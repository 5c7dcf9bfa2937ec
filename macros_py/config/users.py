"""The 利用者 tab: who may use the workbook, with which role."""

from __future__ import annotations

import pandas as pd

from macros_py.config.errors import ConfigError
from macros_py.sheets import ROLES, USERS


def validate_users(table: pd.DataFrame) -> list[ConfigError]:
    """Return every problem in the 利用者 tab (unknown role, duplicate ID, missing ID)."""
    errors: list[ConfigError] = []
    seen: dict[str, int] = {}
    valid_roles = set(ROLES.values())
    for index, row in table.reset_index(drop=True).iterrows():
        excel_row = USERS.excel_row(int(index))
        user_id = str(row.get("利用者ID", "") or "").strip()
        role = str(row.get("役割", "") or "").strip()
        active = str(row.get("有効", "") or "").strip()
        if not user_id and not role:
            continue
        if not user_id:
            errors.append(ConfigError(USERS.name, excel_row, "利用者ID", "利用者IDを入力してください。"))
        elif user_id.casefold() in seen:
            errors.append(
                ConfigError(
                    USERS.name,
                    excel_row,
                    "利用者ID",
                    f"「{user_id}」は{seen[user_id.casefold()]}行目と重複しています。",
                )
            )
        else:
            seen[user_id.casefold()] = excel_row
        if role not in valid_roles:
            errors.append(
                ConfigError(
                    USERS.name,
                    excel_row,
                    "役割",
                    f"「{role}」は役割ではありません。{'・'.join(sorted(valid_roles))}から選んでください。",
                )
            )
        if active and active not in {"はい", "いいえ"}:
            errors.append(
                ConfigError(USERS.name, excel_row, "有効", "「はい」か「いいえ」を選んでください。")
            )
    return errors
