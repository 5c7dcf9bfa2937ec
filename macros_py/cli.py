"""The ``mimamori`` command line.

Subcommands are thin: they parse arguments, call one engine function and print what
happened. ``run`` has one sub-subcommand per action of the registry.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from macros_py.actions import ACTIONS


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

    result = run_in_file_mode(arguments.action, Path(arguments.workbook))
    if arguments.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        status = "成功" if result.ok else "失敗"
        print(f"{arguments.action}: {status} {result.counts}")
        for message in result.messages:
            print(f"  {message}")
    return 0 if result.ok else 1


def _command_link(arguments: argparse.Namespace) -> int:
    from macros_py.link.csv_files import link_csv_files

    summary = link_csv_files(Path(arguments.master), Path(arguments.source), Path(arguments.out))
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return 0


def _command_actions(_arguments: argparse.Namespace) -> int:
    for action in ACTIONS:
        print(f"{action.id}\t{action.label}\t{action.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``run`` choices come from the action registry."""
    parser = argparse.ArgumentParser(prog="mimamori", description="こどもデータ連携: みまもり台帳のエンジン")
    parser.add_argument("-v", "--verbose", action="store_true", help="詳しいログを表示")
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="架空の自治体データ(正解つき)を作る")
    synth.add_argument("--profile", choices=("village", "town", "city", "metro"), default="town")
    synth.add_argument("--seed", type=int, default=1)
    synth.add_argument("--out", required=True)
    synth.set_defaults(handler=_command_synth)

    demo = commands.add_parser("demo", help="架空の町で一通りの処理を実行する")
    demo.add_argument("--profile", choices=("village", "town", "city", "metro"), default="town")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--out", default="demo")
    demo.set_defaults(handler=_command_demo)

    workbook = commands.add_parser("workbook", help="台帳(.xlsm)の作成")
    workbook_commands = workbook.add_subparsers(dest="workbook_command", required=True)
    build = workbook_commands.add_parser("build", help="台帳を作成する")
    build.add_argument("--out", required=True)
    build.set_defaults(handler=_command_workbook_build)

    run = commands.add_parser("run", help="閉じた台帳ファイルに対して操作を実行する(ファイルモード)")
    run_actions = run.add_subparsers(dest="action", required=True)
    for action in ACTIONS:
        action_parser = run_actions.add_parser(action.id, help=f"{action.label}: {action.description}")
        action_parser.add_argument("--workbook", required=True)
        action_parser.add_argument("--json", action="store_true", help="結果をJSONで表示")
        action_parser.set_defaults(handler=_command_run)

    link = commands.add_parser("link", help="2つのCSVを名寄せする")
    link.add_argument("master")
    link.add_argument("source")
    link.add_argument("--out", required=True)
    link.set_defaults(handler=_command_link)

    listing = commands.add_parser("actions", help="操作の一覧")
    listing.set_defaults(handler=_command_actions)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mimamori`` command."""
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return arguments.handler(arguments)


if __name__ == "__main__":
    sys.exit(main())
