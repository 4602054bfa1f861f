"""The command line in both languages: help, messages, errors and tables follow
config.toml's `[ui] language`, else the locale; JSON and stored values never change."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tui_crm import i18n

from .test_cli import STRONG, run

__all__ = ["run"]  # test_cli's fixture (a runner with its own database), used here by name
CHINESE = {"LANG": "zh_CN.UTF-8"}


def test_help_in_chinese_from_the_locale(run) -> None:
    root = run("--help", **CHINESE).output
    assert "用法： main [OPTIONS] [COMMAND] [ARGS]..." in root
    assert "tui-crm：在终端中用键盘操作的客户管理系统。" in root
    assert re.search(r"customer +新建、查看和查找客户。", root)  # padded to the longest name
    assert "显示此帮助信息并退出。" in root
    add = run("customer", "add", "--help", **CHINESE).output
    assert "联系人姓名。" in add and "[必填]" in add
    assert "数据库文件（环境变量 TUI_CRM_DB）。" in add  # the --db option every command takes


def test_the_same_process_speaks_english_again(run) -> None:
    run("--help", **CHINESE)
    english = run("customer", "add", "--help").output
    assert "Usage: main customer add [OPTIONS]" in english
    assert "Contact person's name." in english and "Show this message and exit." in english
    assert "联系人" not in english
    assert i18n.active_language() == "en" and "LANGUAGE" not in os.environ


def test_messages_tables_and_errors_in_chinese(run) -> None:
    init = run("init", "--admin", "root", "--password-stdin", stdin=STRONG, **CHINESE)
    assert init.exit_code == 0 and "管理员为 root。" in init.output
    added = run(
        "customer", "add", "--name", "张伟", "--type", "prospect", "--phone", "13800138000",
        "--industry", "c", **CHINESE,
    )  # fmt: skip
    assert added.output.startswith("已新建 C")
    shown = run("customer", "show", added.output.split()[1], **CHINESE).output
    assert "客户类型             潜在客户" in shown and "行业                 C 制造业" in shown
    listed = run("user", "list", **CHINESE).output.splitlines()
    assert listed[0].split() == ["用户", "角色", "状态", "失败次数", "来源数", "等待至", "最近登录"]
    assert listed[1].split()[:3] == ["root", "管理员", "正常"]
    bad = run("customer", "add", "--name", "A", "--type", "prospect", "--phone", "12", **CHINESE)
    assert bad.exit_code == 1
    assert bad.output.strip() == "错误：电话：'12' 不是有效的电话号码"
    missing = run("customer", "add", "--name", "A", **CHINESE)
    assert missing.exit_code == 2 and "错误：缺少选项 '--type'" in missing.output
    assert "审计链完整：已校验" in run("audit", "verify", **CHINESE).output


def test_json_and_stored_values_do_not_change_with_the_language(run, tmp_path: Path) -> None:
    run("init", "--admin", "root", "--password-stdin", stdin=STRONG)
    added = run(
        "customer", "add", "--name", "Acme", "--type", "churned", "--kind", "person",
        "--phone", "13800138000", "--json", **CHINESE,
    )  # fmt: skip
    data = json.loads(added.output)
    assert (data["customer_type"], data["kind"]) == ("churned", "person")
    users = json.loads(run("user", "list", "--json", **CHINESE).output)
    assert users[0]["role"] == "admin"


def test_config_language_wins_over_the_locale(run, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[ui]\nlanguage = "zh_CN"\n')
    assert "用法：" in run("--help", LANG="en_US.UTF-8", TUI_CRM_CONFIG=str(config)).output
    config.write_text('[ui]\nlanguage = "en"\n')
    assert "Usage:" in run("--help", LANG="zh_CN.UTF-8", TUI_CRM_CONFIG=str(config)).output


def test_a_broken_config_is_reported_in_the_locale_language(run, tmp_path: Path) -> None:
    run("init", "--admin", "root", "--password-stdin", stdin=STRONG)
    config = tmp_path / "config.toml"
    config.write_text("[backup\nkeep_daily = ")
    result = run("backup", "list", TUI_CRM_CONFIG=str(config), **CHINESE)
    assert result.exit_code == 1
    assert result.output.startswith(f"错误：配置文件 {config}：")


def test_user_language_command(run) -> None:
    run("init", "--admin", "root", "--password-stdin", stdin=STRONG)
    run("user", "add", "ann", "--role", "sales", "--password-stdin", stdin=STRONG)
    assert "简体中文" in run("user", "language", "ann", "zh_CN").output
    users = {u["username"]: u["language"] for u in json.loads(run("user", "list", "--json").output)}
    assert users == {"ann": "zh_CN", "root": ""}
    assert "configured language" in run("user", "language", "ann", "auto").output
    users = {u["username"]: u["language"] for u in json.loads(run("user", "list", "--json").output)}
    assert users["ann"] == ""


def test_installed_command_speaks_chinese_under_a_chinese_locale(tmp_path: Path) -> None:
    """The real entry point in a fresh process: click's own words come from our catalog
    through the standard library's gettext, chosen by LANG alone."""
    command = Path(sys.executable).with_name("tui-crm")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "zh_CN.UTF-8",
        "TUI_CRM_CONFIG": os.devnull,
        "TUI_CRM_DB": str(tmp_path / "none.db"),
        "TUI_CRM_KEY_FILE": str(tmp_path / "none.key"),
    }
    shown = subprocess.run(
        [str(command), "user", "--help"], env=env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.startswith("用法： tui-crm user [OPTIONS] COMMAND [ARGS]...")
    assert "选项:" in shown.stdout and "命令:" in shown.stdout
    failed = subprocess.run(
        [str(command), "user", "list"], env=env, capture_output=True, text=True, check=False
    )
    assert failed.returncode == 1
    assert (
        failed.stderr.strip()
        == f"错误：找不到数据库 {tmp_path / 'none.db'}（请先运行 `tui-crm init`）"
    )
