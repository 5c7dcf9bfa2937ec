"""The ``mimamori`` command line.

Subcommands are thin: they parse arguments, call one engine function and print what
happened. ``run`` has one sub-subcommand per action of the registry.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path
from typing import NoReturn

from macros_py.actions import ACTION_BY_ID, ACTIONS


def _command_synth(arguments: argparse.Namespace) -> int:
    from macros_py.synth import generate_municipality

    summary = generate_municipality(arguments.profile, seed=arguments.seed, out_dir=Path(arguments.out))
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return 0


def _command_demo(arguments: argparse.Namespace) -> int:
    from macros_py.demo import run_demo

    return run_demo(profile=arguments.profile, seed=arguments.seed, out_dir=Path(arguments.out))


def _command_workbook_build(arguments: argparse.Namespace) -> int:
    from macros_py.book.build import build_workbook

    path = build_workbook(Path(arguments.out))
    print(f"台帳を作成しました: {path}")
    return 0


def _command_run(arguments: argparse.Namespace) -> int:
    from macros_py.book.filemode import run_in_file_mode

    # The action id, whether staff typed it or the Japanese button label (an alias).
    action_id = arguments.action_id
    result = run_in_file_mode(action_id, Path(arguments.workbook))
    if arguments.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        status = "成功" if result.ok else "失敗"
        print(f"{ACTION_BY_ID[action_id].label}: {status} {result.counts}")
        for message in result.messages:
            print(f"  {message}")
    return 0 if result.ok else 1


def _command_link(arguments: argparse.Namespace) -> int:
    from macros_py.link.csv_files import link_csv_files
    from macros_py.link.csv_input import LinkInputError

    try:
        summary = link_csv_files(
            Path(arguments.master),
            Path(arguments.source),
            Path(arguments.out),
            auto_threshold=arguments.auto_threshold,
            review_threshold=arguments.review_threshold,
        )
    except LinkInputError as error:  # a file or option staff can fix: say what, where
        print(f"名寄せできませんでした: {error}", file=sys.stderr)
        return 1
    if arguments.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        return 0
    for warning in summary["warnings"]:
        print(f"注意: {warning}", file=sys.stderr)
    counts = "・".join(f"{label} {summary['判定'].get(label, 0)}件" for label in ("自動", "要確認", "不一致"))
    print(f"{summary['records']}件を照合しました({counts})。結果: {summary['out']}")
    return 0


def _command_evaluate(arguments: argparse.Namespace) -> int:
    # The one place that reads the synthetic truth; the engine never imports this module.
    from macros_py.score.truth_evaluation import EvaluationError, evaluate_workbook, format_table

    try:
        result = evaluate_workbook(Path(arguments.workbook), Path(arguments.truth))
    except EvaluationError as error:
        print(str(error))
        return 1
    if arguments.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        print(format_table(result))
    return 0


def _audit_tables(workbook: Path):
    """The harvested tables of the workbook an audit command names, or the exit code and message."""
    from macros_py.book.harvest import NotOurWorkbook, harvest_workbook
    from macros_py.governance.commands import EXIT_CANNOT_CHECK, CommandOutcome

    if not workbook.is_file():
        return CommandOutcome(
            EXIT_CANNOT_CHECK, [f"台帳ファイル「{workbook}」が見つかりません。"], {"ok": False}
        )
    try:
        return harvest_workbook(workbook)
    except NotOurWorkbook as error:
        return CommandOutcome(EXIT_CANNOT_CHECK, [str(error)], {"ok": False})


def _audit_guarded(run) -> object:
    """Run an audit command; an unforeseen error is exit 3 (1 means a broken chain), detail in the log."""
    from macros_py.failures import unexpected_error_message
    from macros_py.governance.commands import EXIT_CANNOT_CHECK, CommandOutcome

    try:
        return run()
    except Exception:
        _LOGGER.exception("mimamori audit failed")
        return CommandOutcome(EXIT_CANNOT_CHECK, [unexpected_error_message("mimamori audit")], {"ok": False})


def _print_outcome(outcome, as_json: bool) -> int:
    if as_json:
        print(json.dumps(outcome.summary, ensure_ascii=False, indent=2, default=str))
    else:
        for line in outcome.lines:
            print(line)
    return outcome.exit_code


def _command_audit_verify(arguments: argparse.Namespace) -> int:
    import getpass

    from macros_py.governance.commands import CommandOutcome, verify_command

    workbook = Path(arguments.workbook)
    tables = _audit_tables(workbook)
    if not isinstance(tables, CommandOutcome):
        tables = _audit_guarded(lambda: verify_command(tables, workbook.resolve().parent, getpass.getuser()))
    return _print_outcome(tables, arguments.json)


def _command_audit_report(arguments: argparse.Namespace) -> int:
    import getpass

    from macros_py.governance.commands import CommandOutcome, report_command

    workbook = Path(arguments.workbook)
    tables = _audit_tables(workbook)
    if not isinstance(tables, CommandOutcome):
        out = Path(arguments.out)
        tables = report_command(
            tables, workbook.resolve().parent, getpass.getuser(), year=arguments.year, out=out
        )
    return _print_outcome(tables, arguments.json)


_AUDIT_EXIT_CODES = """\
終了コード:
  0  監査ログは改ざんされていません(report: 報告を作成しました)
  1  監査ログに異常があります(書き換え・削除・並べ替え)。最初の異常な記録の番号を表示します
  2  指定の誤り
  3  確認できませんでした(台帳やデータベースを開けない、または権限がない)
"""


def _add_audit_command(commands: argparse._SubParsersAction) -> None:
    audit = commands.add_parser(
        "audit",
        help="監査ログの検証と、年次のアクセス報告の作成",
        description="操作の記録(監査ログ)がハッシュの連鎖で守られていることを確かめ、年に一度の見直しのための"
        "アクセス報告(だれが何をしたか、どの権限を持っていたか)を作ります。",
        epilog=_AUDIT_EXIT_CODES,
        formatter_class=_JapaneseRawHelpFormatter,
    )
    audit_commands = audit.add_subparsers(
        dest="audit_command", required=True, title="コマンド", metavar="コマンド"
    )
    verify = audit_commands.add_parser(
        "verify",
        help="監査ログが書き換え・削除・並べ替えされていないか確かめる",
        description="監査ログのすべての記録のハッシュと、前の記録とのつながりを確かめます。"
        "異常があれば最初の異常な記録の番号を表示します(管理者・センター職員・閲覧者が実行できます)。",
        epilog=_AUDIT_EXIT_CODES,
        formatter_class=_JapaneseRawHelpFormatter,
    )
    verify.add_argument("--workbook", required=True, metavar="台帳", help="対象の台帳ファイル(.xlsm)のパス")
    verify.add_argument("--json", action="store_true", help="結果をJSONで表示")
    verify.set_defaults(handler=_command_audit_verify)
    report = audit_commands.add_parser(
        "report",
        help="年次のアクセス報告(Excel)を作る",
        description="指定した年の監査ログから、利用者別の操作・権限・拒否された操作・記録一覧を"
        "Excelファイルにまとめます(管理者が実行できます)。",
        epilog=_AUDIT_EXIT_CODES,
        formatter_class=_JapaneseRawHelpFormatter,
    )
    report.add_argument("--year", required=True, type=int, metavar="年", help="対象の年(西暦、例: 2026)")
    report.add_argument("--workbook", required=True, metavar="台帳", help="対象の台帳ファイル(.xlsm)のパス")
    report.add_argument("--out", required=True, metavar="ファイル", help="作成する報告ファイル(.xlsx)のパス")
    report.add_argument("--json", action="store_true", help="結果をJSONで表示")
    report.set_defaults(handler=_command_audit_report)


def _command_actions(_arguments: argparse.Namespace) -> int:
    for action in ACTIONS:
        print(f"{action.id}\t{action.label}\t{action.description}")
    return 0


# argparse's own words (usage line, group titles, errors) are English: staff read Japanese.
_ARGPARSE_ERRORS = (
    (re.compile(r"^the following arguments are required: (.*)$"), "次の指定が必要です: {0}"),
    (re.compile(r"^unrecognized arguments: (.*)$"), "知らない指定です: {0}"),
    (
        re.compile(r"^argument (\S+): invalid choice: (.*?) \(choose from (.*)\)$"),
        "{0} に {1} は使えません(使えるもの: {2})",
    ),
    (re.compile(r"^argument (\S+): invalid (\S+) value: (.*)$"), "{0} の値 {2} は使えません"),
    (re.compile(r"^argument (\S+): expected one argument$"), "{0} の後に値を1つ指定してください"),
)


class _JapaneseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None) -> None:
        super().add_usage(usage, actions, groups, prefix="使い方: " if prefix is None else prefix)


class _JapaneseParser(argparse.ArgumentParser):
    """An ArgumentParser whose help and error lines are Japanese."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _JapaneseHelpFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "引数"
        self._optionals.title = "オプション"
        self.add_argument("-h", "--help", action="help", help="この説明を表示して終了する")

    def error(self, message: str) -> NoReturn:
        for pattern, japanese in _ARGPARSE_ERRORS:
            match = pattern.match(message)
            if match:
                message = japanese.format(*match.groups())
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: 指定の誤り: {message}\n(説明は {self.prog} --help で表示できます)\n")


def _add_profile_options(parser: argparse.ArgumentParser, *, out_default: str | None) -> None:
    parser.add_argument(
        "--profile",
        choices=("village", "town", "city", "metro"),
        default="town",
        help="自治体の規模: village(村)・town(町)・city(市)・metro(大都市)。既定は town",
    )
    parser.add_argument(
        "--seed", type=int, default=1, metavar="数", help="乱数の種。同じ種なら同じデータになる(既定 1)"
    )
    if out_default is None:
        parser.add_argument(
            "--out", required=True, metavar="フォルダ", help="作成先のフォルダ(exports と truth を作る)"
        )
    else:
        parser.add_argument(
            "--out", default=out_default, metavar="フォルダ", help=f"作成先のフォルダ(既定 {out_default})"
        )


def _add_run_commands(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="閉じた台帳ファイルに対して操作を実行する(ファイルモード)",
        description="閉じた台帳ファイルに対して操作を実行します。操作は英字の名前でもボタンの名前でも指定できます"
        "(例: mimamori run 取込 --workbook 台帳.xlsm)。",
    )
    run_actions = run.add_subparsers(dest="action", required=True, title="操作", metavar="操作")
    for action in ACTIONS:
        action_parser = run_actions.add_parser(
            action.id,
            aliases=[action.label] if action.label != action.id else [],
            help=f"{action.label}: {action.description}",
            description=f"{action.label}({action.id}): {action.description}",
        )
        action_parser.add_argument(
            "--workbook", required=True, metavar="台帳", help="対象の台帳ファイル(.xlsm)のパス"
        )
        action_parser.add_argument("--json", action="store_true", help="結果をJSONで表示")
        action_parser.set_defaults(handler=_command_run, action_id=action.id)


_LINK_DESCRIPTION = """\
住民記録のCSVと、突き合わせたいCSV(健診・学校・外部の名簿など)を名寄せします。
1行ごとに、同じ人と考えられる住民の宛名番号と判定を結果のCSVに書き出します。

住民記録CSV の列(1行目が見出し):
  宛名番号   必須。空欄や重複は不可
  氏名・氏名カナ・生年月日・性別・住所   いずれか1つ以上(多いほど正確)
  氏名は「平野 紬」「平野紬」「スミス・ジョン」のどれでも、生年月日は西暦(2014-05-06、
  2014/5/6)でも和暦(H26.5.6、平成26年5月6日)でも構いません。

突き合わせるCSV の列:
  レコードID   任意。ない場合は行番号(Excelで見た行番号。見出しが1行目)を使います
  氏名・氏名カナ・生年月日・性別・住所   いずれか1つ以上
  宛名番号    任意。あれば住民記録と完全一致で結び付けます(生年月日・性別が違えば要確認)

文字コードは UTF-8 か Shift_JIS(Excelの「CSV」保存)。生年月日が読めない行は注意を表示し
生年月日なしとして照合します(列の5%を超えて読めない場合は中止します)。

結果CSV の列: レコードID・宛名番号・判定(自動/要確認/不一致)・一致スコア(0〜1)
しきい値の既定は台帳の設定タブと同じ(名寄せ自動しきい値・名寄せ確認しきい値)です。
"""


class _JapaneseRawHelpFormatter(argparse.RawDescriptionHelpFormatter, _JapaneseHelpFormatter):
    """Japanese usage line; the description keeps its own line breaks (column lists)."""


def _add_link_command(commands: argparse._SubParsersAction) -> None:
    from macros_py.link.csv_input import default_thresholds

    try:
        auto, review = (f"{value:g}" for value in default_thresholds())
    except Exception:  # a broken settings default must not stop every command; it is reported when used
        auto = review = "設定の値"
    link = commands.add_parser(
        "link",
        help="2つのCSVを名寄せする",
        description=_LINK_DESCRIPTION,
        formatter_class=_JapaneseRawHelpFormatter,
    )
    link.add_argument("master", metavar="住民記録CSV", help="住民記録のCSV(宛名番号と、照合に使う列)")
    link.add_argument(
        "source", metavar="突き合わせるCSV", help="突き合わせるCSV(照合に使う列。レコードIDは任意)"
    )
    link.add_argument(
        "--out",
        required=True,
        metavar="結果CSV",
        help="結果を書き出すCSVのパス(レコードID・宛名番号・判定・一致スコア。UTF-8)",
    )
    link.add_argument(
        "--auto-threshold",
        type=float,
        default=None,
        metavar="確率",
        help=f"この確率以上で条件を満たす組を「自動」にする(0〜1、既定 {auto})",
    )
    link.add_argument(
        "--review-threshold",
        type=float,
        default=None,
        metavar="確率",
        help=f"この確率以上の組を「要確認」にする(0〜1、既定 {review})",
    )
    link.add_argument("--json", action="store_true", help="結果の件数をJSONで表示")
    link.set_defaults(handler=_command_link)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``run`` choices come from the action registry (ids and button labels)."""
    parser = _JapaneseParser(prog="mimamori", description="こどもデータ連携: みまもり台帳のエンジン")
    parser.add_argument("-v", "--verbose", action="store_true", help="詳しいログを表示")
    commands = parser.add_subparsers(dest="command", required=True, title="コマンド", metavar="コマンド")

    synth = commands.add_parser("synth", help="架空の自治体データ(正解つき)を作る")
    _add_profile_options(synth, out_default=None)
    synth.set_defaults(handler=_command_synth)

    demo = commands.add_parser("demo", help="架空の町で一通りの処理を実行する")
    _add_profile_options(demo, out_default="demo")
    demo.set_defaults(handler=_command_demo)

    workbook = commands.add_parser("workbook", help="台帳(.xlsm)の作成")
    workbook_commands = workbook.add_subparsers(
        dest="workbook_command", required=True, title="コマンド", metavar="コマンド"
    )
    build = workbook_commands.add_parser("build", help="台帳を作成する")
    build.add_argument("--out", required=True, metavar="台帳", help="作成する台帳ファイル(.xlsm)のパス")
    build.set_defaults(handler=_command_workbook_build)

    _add_run_commands(commands)

    _add_link_command(commands)

    evaluate = commands.add_parser(
        "evaluate",
        help="架空の自治体で、最新の判定結果を正解データと比べる(ルール点数・統計モデル・基本項目の数)",
        description="mimamori synth / demo で作った架空の自治体で、最新の判定結果を正解データ(truth)と比べます。"
        "年齢ごとの上位5・10・20%に、困難を抱えるこども(特に支援機関が把握していないこども)が"
        "どれだけ入るか、適合率とAUCを表示します。",
    )
    evaluate.add_argument(
        "--truth",
        required=True,
        metavar="フォルダ",
        help="正解データのフォルダ(自治体のフォルダか、その truth フォルダ)",
    )
    evaluate.add_argument(
        "--workbook", required=True, metavar="台帳", help="判定を実行した台帳ファイル(.xlsm)のパス"
    )
    evaluate.add_argument("--json", action="store_true", help="結果をJSONで表示")
    evaluate.set_defaults(handler=_command_evaluate)

    _add_audit_command(commands)

    listing = commands.add_parser("actions", help="操作の一覧(英字の名前・ボタンの名前・説明)")
    listing.set_defaults(handler=_command_actions)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mimamori`` command."""
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return _guarded(arguments)


# Named explicitly: under ``python -m`` this module is ``__main__``, which run_log does not capture.
_LOGGER = logging.getLogger("macros_py.cli")


def _place(error: OSError) -> str:
    """The file or folder an OS error is about, as staff know it (not our temporary file)."""
    if not error.filename:
        return "ファイル"
    path = Path(str(error.filename))
    if path.name.startswith(".mimamori-"):  # the temporary file of an atomic write
        return f"フォルダ「{path.parent}」"
    return f"ファイル「{path}」"


def _guarded(arguments: argparse.Namespace) -> int:
    """Run a subcommand; a failure reaches the user in Japanese, its detail goes to mimamori.log."""
    from macros_py.failures import run_log, unexpected_error_message

    with run_log(Path.cwd(), echo=arguments.verbose):
        try:
            return arguments.handler(arguments)
        except OSError as error:  # a folder that is missing, read-only or full
            _LOGGER.exception("mimamori %s failed", arguments.command)
            print(
                f"{_place(error)}を読み書きできませんでした(権限・空き容量・フォルダの有無を確認してください)。"
            )
            return 1
        except Exception:
            _LOGGER.exception("mimamori %s failed", arguments.command)
            print(unexpected_error_message(f"mimamori {arguments.command}"))
            return 1


if __name__ == "__main__":
    sys.exit(main())
