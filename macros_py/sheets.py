"""The one specification of the workbook's tabs: names, tables, columns, positions.

Engine code refers to sheets by ``key`` only; the Japanese sheet names, Excel table
names and where each table starts are defined here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from macros_py.vocabulary import KEY_KINDS, SUBJECT_KINDS, UPDATE_RHYTHMS, VALUE_TYPES, YES_NO

ROLES: dict[str, str] = {
    "admin": "管理者",
    "center_staff": "センター職員",
    "ssw": "SSW",
    "school": "学校",
    "viewer": "閲覧者",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a sheet's table."""

    header: str  # Japanese header shown in the table
    editable: bool = False  # unlocked when the sheet is protected
    choices: tuple[str, ...] = ()  # data-validation dropdown
    width: float = 14.0
    kind: str = "text"  # text / int / float / date
    hidden: bool = False  # kept in the table for the engine, not shown or printed


@dataclass(frozen=True)
class SheetSpec:
    """One tab of the workbook and the Excel table it holds."""

    key: str  # English identifier used by engine code
    name: str  # Japanese sheet name
    table_name: str  # Excel table name (ASCII)
    columns: tuple[ColumnSpec, ...]
    role: str  # settings (harvested, edited by administrators) / output / review / control
    description: str
    defaults_csv: str | None = None  # file in mappings/ with the default rows
    header_row: int = 4  # Excel row of the table header; title in row 1, description in row 2

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def excel_row(self, data_index: int) -> int:
        """Excel row number of the ``data_index``-th data row (0-based)."""
        return self.header_row + 1 + data_index


def _text(
    header: str, width: float = 14.0, editable: bool = True, choices: tuple[str, ...] = ()
) -> ColumnSpec:
    return ColumnSpec(header=header, editable=editable, choices=choices, width=width)


SETTINGS = SheetSpec(
    key="settings",
    name="設定",
    table_name="tbl_settings",
    columns=(_text("項目", 24, editable=False), _text("値", 48), _text("説明", 60, editable=False)),
    role="settings",
    description="データベースの場所、取込フォルダ、プラグインフォルダ、名寄せのしきい値などの基本設定です。「値」列だけ編集できます。",
    defaults_csv="settings.csv",
)

SOURCES = SheetSpec(
    key="sources",
    name="取込設定",
    table_name="tbl_sources",
    columns=(
        _text("ソースID", 16),
        _text("名称", 22),
        _text("部署", 16),
        _text("ファイルパターン", 30),
        _text("形式", 10, choices=("csv", "xlsx", "固定長")),
        _text("文字コード", 12, choices=("自動", "cp932", "utf-8", "utf-8-sig")),
        ColumnSpec("見出し行", editable=True, width=10, kind="int"),
        _text("シート名", 14),
        _text("キー種別", 12, choices=KEY_KINDS),
        _text("対象者", 10, choices=SUBJECT_KINDS),
        _text("更新頻度", 10, choices=UPDATE_RHYTHMS),
        _text("抽出日の取得元", 22),
        _text("有効", 8, choices=YES_NO),
    ),
    role="settings",
    description="各部署から受け取るファイル(ソース)の定義です。1行が1ソースです。新しいソースは行を追加するだけで取り込めます。",
    defaults_csv="sources.csv",
)

COLUMN_MAPPINGS = SheetSpec(
    key="column_mappings",
    name="項目マッピング",
    table_name="tbl_column_mappings",
    columns=(
        _text("ソースID", 16),
        _text("元の列名", 24),
        _text("項目", 18),
        _text("型", 8, choices=VALUE_TYPES),
        _text("変換規則", 24),
        _text("必須", 8, choices=YES_NO),
    ),
    role="settings",
    description="ファイルの列が共通項目(宛名番号・氏名・生年月日など)や値項目(欠席日数など)のどれにあたるかの対応表です。",
    defaults_csv="columns.csv",
)

CODE_TABLES = SheetSpec(
    key="code_tables",
    name="コード表",
    table_name="tbl_code_tables",
    columns=(_text("コード表ID", 18), _text("コード", 12), _text("値", 18), _text("説明", 40)),
    role="settings",
    description="各システム固有のコード(性別1/2、続柄コード、支給区分など)を共通の値に読み替える表です。",
    defaults_csv="codes.csv",
)

USERS = SheetSpec(
    key="users",
    name="利用者",
    table_name="tbl_users",
    columns=(
        _text("利用者ID", 16),
        _text("氏名", 16),
        _text("役割", 14, choices=tuple(ROLES.values())),
        _text("所属学校", 20),
        _text("有効", 8, choices=YES_NO),
    ),
    role="settings",
    description=(
        "この台帳を使える職員と役割です。利用者IDはWindowsのログオン名です。役割が学校の人は所属学校も入力します。"
        "空のまま個人のデータを扱う操作をすると、最初に実行した人が管理者として記録されます。"
    ),
    defaults_csv="users.csv",
)

IMPORT_ERRORS = SheetSpec(
    key="import_errors",
    name="取込エラー",
    table_name="tbl_import_errors",
    columns=(
        _text("ソース名", 16, editable=False),
        _text("ファイル", 36, editable=False),
        ColumnSpec("行", width=8, kind="int"),
        _text("列", 16, editable=False),
        _text("値", 24, editable=False),
        _text("理由", 50, editable=False),
        ColumnSpec("ソースID", width=14, hidden=True),
    ),
    role="output",
    description="取り込めなかった行と理由です。元のファイルを直して再度「取込」を押してください。",
)

QUALITY_REPORT = SheetSpec(
    key="quality_report",
    name="品質レポート",
    table_name="tbl_quality_report",
    columns=(
        _text("名称", 20, editable=False),
        _text("抽出日", 12, editable=False),
        _text("最終取込", 18, editable=False),
        ColumnSpec("件数", width=10, kind="int"),
        ColumnSpec("完全性", width=10, kind="float"),
        ColumnSpec("妥当性", width=10, kind="float"),
        ColumnSpec("一意性", width=10, kind="float"),
        ColumnSpec("適時性", width=10, kind="float"),
        ColumnSpec("整合性", width=10, kind="float"),
        _text("注意", 40, editable=False),
        ColumnSpec("ソースID", width=14, hidden=True),
    ),
    role="output",
    description="ソースごとのデータ品質(完全性・妥当性・一意性・適時性・整合性、0〜1)です。",
)

LINK_REVIEW = SheetSpec(
    key="link_review",
    name="名寄せ確認",
    table_name="tbl_link_review",
    columns=(
        _text("確認ID", 13, editable=False),
        _text("ソース名", 16, editable=False),
        _text("ソースID", 14, editable=False),
        _text("レコードキー", 18, editable=False),
        _text("宛名番号", 12, editable=False),
        ColumnSpec("一致スコア", width=10, kind="float"),
        _text("氏名(元)", 16, editable=False),
        _text("氏名(住基)", 16, editable=False),
        _text("カナ(元)", 18, editable=False),
        _text("カナ(住基)", 18, editable=False),
        _text("生年月日(元)", 12, editable=False),
        _text("生年月日(住基)", 12, editable=False),
        _text("性別(元)", 8, editable=False),
        _text("性別(住基)", 8, editable=False),
        _text("住所(元)", 28, editable=False),
        _text("住所(住基)", 28, editable=False),
        _text("項目別一致", 30, editable=False),
        _text("判定", 10, choices=("同一", "別人")),
        _text("メモ", 24),
    ),
    role="review",
    description="自動では決められなかった組み合わせです。「判定」列で同一/別人を選び、「名寄せ」を再実行すると記憶されます。",
)

LINK_DECISIONS = SheetSpec(
    key="link_decisions",
    name="名寄せ判定",
    table_name="tbl_link_decisions",
    columns=(
        _text("判定ID", 10, editable=False),
        _text("ソース名", 16, editable=False),
        _text("ソースID", 14, editable=False),
        _text("レコードキー", 18, editable=False),
        _text("宛名番号", 12, editable=False),
        _text("判定", 8, editable=False),
        _text("メモ", 24, editable=False),
        _text("判定者", 12, editable=False),
        _text("判定日時", 18, editable=False),
        _text("状態", 10, editable=False),
        _text("取消", 8, choices=("取消",)),
        _text("取消理由", 24),
    ),
    role="review",
    description=(
        "職員が名寄せ確認で記録した判定の一覧です(新しい順)。判定を取り消すには「取消」列で取消を選び、"
        "「名寄せ」を再実行してください。取消も記録として残ります。"
    ),
)

LINK_UNMATCHED = SheetSpec(
    key="link_unmatched",
    name="名寄せ不一致",
    table_name="tbl_link_unmatched",
    columns=(
        _text("ソース名", 16, editable=False),
        _text("ソースID", 14, editable=False),
        _text("ファイル", 24, editable=False),
        ColumnSpec("行", width=8, kind="int"),
        _text("レコードキー", 18, editable=False),
        _text("氏名", 16, editable=False),
        _text("カナ", 18, editable=False),
        _text("生年月日", 12, editable=False),
        _text("性別", 6, editable=False),
        _text("住所", 28, editable=False),
        _text("学校", 16, editable=False),
        _text("学年", 6, editable=False),
        _text("理由", 30, editable=False),
    ),
    role="output",
    description=(
        "住民であるはずのソース(取込設定の対象者が全住民・児童・保護者・世帯員)で、"
        "住民記録のだれとも結び付かなかった記録です(ソースごとに上限あり)。"
    ),
)

LINK_RULES = SheetSpec(
    key="link_rules",
    name="名寄せルール",
    table_name="tbl_link_rules",
    columns=(
        _text("ルールID", 14),
        _text("ルール名", 22),
        _text("条件", 48),
        _text("満たさないとき", 14, choices=("要確認", "候補から除外")),
        _text("理由", 36),
        _text("説明", 60),
    ),
    role="settings",
    description=(
        "名寄せ(確率的照合)で自動にする条件です。1行が1ルールで、条件を満たさない組は「要確認」"
        "(理由を名寄せ確認タブに表示)か「候補から除外」になります。条件の書き方は docs/matching-rules.md を見てください。"
    ),
    defaults_csv="link_rules.csv",
)

ITEM_RULES = SheetSpec(
    key="item_rules",
    name="判定ルール",
    table_name="tbl_item_rules",
    columns=(
        _text("項目ID", 14),
        _text("項目名", 28),
        ColumnSpec("基本項目番号", editable=True, width=8, kind="int"),
        _text("ソースID", 14),
        _text("値項目", 16),
        _text("記録条件", 30),
        _text("期間", 8),
        _text("日付項目", 12),
        _text("範囲", 10, choices=("本人", "世帯", "保護者", "きょうだい")),
        _text("集計", 12, choices=("有無", "件数", "最大", "最小", "合計", "最新", "期間内になし", "前回差")),
        _text("判定", 16),
        _text("対象", 20),
        _text("中分類", 12),
        _text("配点", 24),
        _text("検討会議に表示", 8, choices=YES_NO),
        _text("有効", 8, choices=YES_NO),
        _text("根拠", 40),
    ),
    role="settings",
    description=(
        "名寄せした記録から児童ごとの項目(該当/非該当)を作るルールです。1行が1項目です。"
        "条件の書き方は「判定ルールの書き方」(README)を見てください。配点は「虐待:2, 貧困:1」のように困難類型ごとに書きます。"
    ),
    defaults_csv="items.csv",
)

HARDSHIP_TYPES = SheetSpec(
    key="hardship_types",
    name="困難類型",
    table_name="tbl_hardship_types",
    columns=(
        _text("類型", 14),
        ColumnSpec("基準点数", editable=True, width=10, kind="float"),
        _text("中分類の集計", 12, choices=("合計", "最大")),
        _text("必須中分類", 20),
        _text("年齢帯別基準点数", 26),
        _text("順位付け", 14, choices=("基準点数以上", "上位N人", "年齢内上位%", "等級")),
        _text("順位付けの値", 20),
        _text("有効", 8, choices=YES_NO),
        _text("説明", 40),
    ),
    role="settings",
    description=(
        "困難類型ごとの基準点数、中分類のまとめ方、必須中分類、年齢帯ごとの基準点数、候補の選び方です。"
        "順位付けの値の例: 上位N人なら 200、年齢内上位%なら 10、等級なら A:2, B:5, C:10(上位%)。"
    ),
    defaults_csv="hardship_types.csv",
)

LABEL_SOURCES = SheetSpec(
    key="label_sources",
    name="教師データ",
    table_name="tbl_label_sources",
    columns=(
        _text("ソースID", 14),
        _text("記録条件", 30),
        _text("支援状況", 12, choices=("支援中", "要対協", "支援歴あり")),
        _text("有効", 8, choices=YES_NO),
        _text("説明", 40),
    ),
    role="settings",
    description=(
        "統計モデルの教師データ(すでに支援につながっている児童)を決めるソースです。"
        "ここに挙げたソースの記録がある児童を「支援中」「要対協」または「支援歴あり」(終結した支援)とします。これらのソースの項目はモデルの入力に使いません。"
    ),
    defaults_csv="label_sources.csv",
)

CANDIDATES = SheetSpec(
    key="candidates",
    name="候補リスト",
    table_name="tbl_candidates",
    columns=(
        ColumnSpec("順位", width=6, kind="int"),
        _text("宛名番号", 12, editable=False),
        _text("氏名", 16, editable=False),
        ColumnSpec("年齢", width=6, kind="int"),
        _text("学校", 16, editable=False),
        _text("学年", 6, editable=False),
        _text("困難類型", 20, editable=False),
        ColumnSpec("点数", width=8, kind="float"),
        _text("等級", 6, editable=False),
        ColumnSpec("確率", width=8, kind="float"),
        _text("主な理由", 40, editable=False),
        _text("保護的要因", 28, editable=False),
        _text("きょうだい", 24, editable=False),
        _text("支援状況", 10, editable=False),
        _text("データの鮮度", 24, editable=False),
        _text("掲載理由", 20, editable=False),
    ),
    role="output",
    description=(
        "支援が必要かもしれない児童の候補です。リストは「見に行く理由」であって結論ではありません。"
        "判定は必ず判定会議で行ってください。"
    ),
)

MODEL_EVALUATION = SheetSpec(
    key="model_evaluation",
    name="モデル評価",
    table_name="tbl_model_evaluation",
    columns=(
        _text("区分", 16, editable=False),
        _text("指標", 36, editable=False),
        _text("値", 16, editable=False),
        _text("説明", 60, editable=False),
    ),
    role="output",
    description=(
        "毎回の実行で計算する、候補の選び方の評価です(交差検証AUC、上位5/10/20%の適合率と再現率、"
        "確率の較正、前回の抽出で学習し今回で検証した結果、一つの項目への偏り、グループ間の差)。"
    ),
)

COEFFICIENTS = SheetSpec(
    key="coefficients",
    name="係数",
    table_name="tbl_coefficients",
    columns=(
        _text("項目ID", 14, editable=False),
        _text("項目名", 28, editable=False),
        ColumnSpec("係数", width=10, kind="float"),
        ColumnSpec("オッズ比", width=10, kind="float"),
        ColumnSpec("該当者数", width=10, kind="int"),
        _text("向き", 10, editable=False),
        _text("説明", 60, editable=False),
    ),
    role="output",
    description="統計モデル(ロジスティック回帰)の係数です。正の係数は支援につながる見込みを高め、負の係数は下げます。",
)

SCORE_HISTORY = SheetSpec(
    key="score_history",
    name="履歴",
    table_name="tbl_score_history",
    columns=(
        _text("変化", 12, editable=False),
        _text("宛名番号", 12, editable=False),
        _text("氏名", 16, editable=False),
        ColumnSpec("年齢", width=6, kind="int"),
        _text("学校", 16, editable=False),
        ColumnSpec("前回順位", width=8, kind="int"),
        ColumnSpec("今回順位", width=8, kind="int"),
        ColumnSpec("前回点数", width=8, kind="float"),
        ColumnSpec("今回点数", width=8, kind="float"),
        _text("困難類型", 20, editable=False),
        _text("前回実行", 18, editable=False),
        _text("今回実行", 18, editable=False),
    ),
    role="output",
    description="前回の判定実行からの変化(新たに候補になった児童、点数が大きく上がった児童、候補から外れた児童)です。",
)

LOG = SheetSpec(
    key="log",
    name="ログ",
    table_name="tbl_log",
    columns=(
        _text("日時", 18, editable=False),
        _text("利用者", 12, editable=False),
        _text("操作", 14, editable=False),
        _text("区分", 8, editable=False),
        _text("内容", 80, editable=False),
    ),
    role="output",
    description="操作の記録、警告、プラグインのエラーです。",
)

STATUS = SheetSpec(
    key="status",
    name="操作",
    table_name="tbl_status",
    columns=(
        _text("操作", 18, editable=False),
        _text("最終実行", 18, editable=False),
        _text("結果", 8, editable=False),
        _text("件数", 40, editable=False),
        _text("警告", 40, editable=False),
    ),
    role="control",
    description="ボタンを押すと処理が実行され、結果がこの下に表示されます。",
    header_row=4,
)

FRESHNESS = SheetSpec(
    key="freshness",
    name="操作",
    table_name="tbl_freshness",
    columns=(
        _text("名称", 20, editable=False),
        _text("抽出日", 12, editable=False),
        _text("最終取込", 18, editable=False),
        ColumnSpec("件数", width=10, kind="int"),
        _text("鮮度", 24, editable=False),
        ColumnSpec("ソースID", width=14, hidden=True),  # column F: free on the 操作 tab
    ),
    role="control",
    description="ソースごとのデータの鮮度です。",
    header_row=20,
)

SHEETS: tuple[SheetSpec, ...] = (
    STATUS,
    FRESHNESS,
    SETTINGS,
    SOURCES,
    COLUMN_MAPPINGS,
    CODE_TABLES,
    USERS,
    IMPORT_ERRORS,
    QUALITY_REPORT,
    LINK_REVIEW,
    LINK_DECISIONS,
    LINK_UNMATCHED,
    LINK_RULES,
    ITEM_RULES,
    HARDSHIP_TYPES,
    LABEL_SOURCES,
    CANDIDATES,
    MODEL_EVALUATION,
    COEFFICIENTS,
    SCORE_HISTORY,
    LOG,
)
SHEET_BY_KEY: dict[str, SheetSpec] = {sheet.key: sheet for sheet in SHEETS}
SETTINGS_SHEETS: tuple[SheetSpec, ...] = tuple(sheet for sheet in SHEETS if sheet.role == "settings")
XLWINGS_CONF_SHEET_NAME = "xlwings.conf"
