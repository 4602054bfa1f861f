"""What the deployment test needs from the machine: packages, a throwaway install of this
checkout, a real sshd on 127.0.0.1, and a terminal to drive `ssh -tt` through.

The service account must be able to run the app, but the interpreter behind the test's
virtualenv may sit where other accounts cannot reach (pyenv under /root here). So the
throwaway install is a virtualenv on an interpreter of the same version that the account
can run, holding hard links to the test virtualenv's packages and this checkout's
`tui_crm`: the same code, importable by the account, without a network install.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import sysconfig
import termios
import time
from collections.abc import Sequence
from pathlib import Path

import pyte

CHECKOUT = Path(__file__).resolve().parents[1]

# Tools the test drives, and the Debian package that brings each.
REQUIRED_TOOLS = {
    "/usr/sbin/sshd": "openssh-server",
    "/usr/bin/ssh": "openssh-client",
    "/usr/bin/sudo": "sudo",
    "/usr/sbin/visudo": "sudo",
    "/usr/bin/systemd-analyze": "systemd",
    "/usr/sbin/useradd": "passwd",
    "/usr/sbin/runuser": "util-linux",
}
WAIT_SECONDS = 60.0
COLUMNS, ROWS = 100, 30


class HarnessError(Exception):
    """The machine cannot host the deployment test; the message is one line saying why."""


def ensure_tools() -> None:
    """Install what is missing (as root, with apt-get), or say in one line why we cannot."""
    missing = sorted({pkg for tool, pkg in REQUIRED_TOOLS.items() if not Path(tool).exists()})
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise HarnessError(
            f"the SSH deployment test needs {', '.join(missing)} and cannot install them"
            " (run it as root on Debian, as .ci/run does, or install them first)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *missing]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise HarnessError(f"could not install {', '.join(missing)}: {last}")


def run(
    command: Sequence[str | Path], *, input: str | None = None, check: bool = True, **kw: object
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(c) for c in command], input=input, capture_output=True, text=True, check=False, **kw
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} exited {done.returncode}: {done.stderr.strip()}"
        )
    return done


def as_user(account: str, command: Sequence[str | Path]) -> list[str]:
    """`command` run as `account` with a clean environment, from a directory it may read."""
    return ["runuser", "-u", account, "--", "env", "-i", "PATH=/usr/bin:/bin", *map(str, command)]


def runnable_interpreter(account: str) -> str:
    """An interpreter of this Python's version that `account` can run."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        sys._base_executable,  # type: ignore[attr-defined]
        f"/usr/bin/python{version}",
        f"/usr/local/bin/python{version}",
    ]
    for candidate in dict.fromkeys(candidates):
        if not Path(candidate).exists():
            continue
        probe = run(
            as_user(account, [candidate, "-c", "import sys; print(sys.version_info[:2])"]),
            check=False,
            cwd="/",
        )
        if probe.returncode == 0 and probe.stdout.strip() == str(sys.version_info[:2]):
            return candidate
    raise HarnessError(f"no Python {version} interpreter that the account {account} can run")


def _link_tree(source: Path, target: Path, skip: tuple[str, ...] = ()) -> None:
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(
        source,
        target,
        copy_function=link,
        ignore=shutil.ignore_patterns(*skip),
        dirs_exist_ok=True,
        symlinks=True,
    )


def install_app(prefix: Path, account: str) -> Path:
    """A virtualenv at `prefix` (the deployment's /opt/tui-crm) that runs this checkout."""
    interpreter = runnable_interpreter(account)
    run([interpreter, "-m", "venv", "--without-pip", prefix])
    purelib = Path(
        run(
            [
                prefix / "bin" / "python",
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ]
        ).stdout.strip()
    )
    _link_tree(Path(sysconfig.get_path("purelib")), purelib, ("__editable__*",))
    _link_tree(CHECKOUT / "tui_crm", purelib / "tui_crm", ("__pycache__",))
    script = prefix / "bin" / "tui-crm"
    source = Path(sys.executable).parent / "tui-crm"
    body = source.read_text().split("\n", 1)[1]
    script.write_text(f"#!{prefix / 'bin' / 'python'}\n{body}")
    script.chmod(0o755)
    for path in [prefix, *prefix.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    return script


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(f"sshd exited {process.returncode}: {log.read_text()[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise HarnessError(f"sshd did not listen on port {port}")


ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A program on a pseudo-terminal, with what a screen would show (pyte renders it)."""

    def __init__(self, command: Sequence[str | Path], env: dict[str, str] | None = None) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.process = subprocess.Popen(
            [str(c) for c in command],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**(env or os.environ), "TERM": "xterm-256color"},
            start_new_session=True,
        )
        os.close(slave)
        self.fd = master
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def _pump(self, timeout: float) -> bool:
        """Read what is there; False once the program has closed the terminal."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def wait_for(self, *texts: str) -> str:
        """The screen once it shows every one of `texts`; fails with the screen otherwise."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            screen = self.text()
            if all(t in screen for t in texts):
                return screen
            if not self._pump(0.2):
                break
        raise AssertionError(f"never saw {texts!r}; the screen was:\n{self.text()}")

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def finish(self) -> tuple[int, str]:
        """Wait for the program to end; its exit status and everything it printed."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and self._pump(0.2):
            pass
        try:
            code = self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            os.close(self.fd)
        return code, ANSI.sub(b"", bytes(self.raw)).decode(errors="replace")
