"""The SSH deployment exactly as README and deploy/ give it, against a real OpenSSH server.

A throwaway sshd (its own host key and config, Debian's defaults plus the shipped `Match`
blocks, on a free port of 127.0.0.1) serves a throwaway service account set up by the
README's commands, running this checkout. Operators' keys must open the app pinned to
them and do nothing else: no requested command, no file transfer, no forwarding, no agent,
and nothing the client sends in its environment may change the database, key file,
config or operator. The sshd is made to accept those variables (`AcceptEnv TUI_CRM_*
PYTHON*`), as a careless server might, so the test proves the wrapper discards them.

The service account is a new system account rather than the current user: the point is
an account with no password and no way in but the forced command, which the current user
(root, here) is not. So the test needs root; where sshd, sudo or systemd-analyze are
missing it installs them (Debian's apt-get), and otherwise it fails with one line, never
skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shlex
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy_harness import (
    CHECKOUT,
    HarnessError,
    Terminal,
    as_user,
    ensure_tools,
    free_port,
    install_app,
    run,
    wait_for_port,
)

pytestmark = pytest.mark.xdist_group("deploy")

DEPLOY = CHECKOUT / "deploy"
PRODUCTION_PATHS = ("/opt/tui-crm", "/srv/crm", "/etc/tui-crm", "/etc/ssh/tui-crm")
PRODUCTION_PATH_RE = re.compile(
    r"(?<![\w/.-])(" + "|".join(re.escape(p) for p in PRODUCTION_PATHS) + r")(?![\w.-])"
)
# The README's account set-up, in production form; the test runs each line rendered.
RECIPE = (
    "useradd --system --home-dir /opt/tui-crm --shell /bin/sh crm",
    "usermod --password '*' crm",
    "install -d -o crm -g crm -m 700 /srv/crm /etc/tui-crm",
    "install -d -o root -g root -m 755 /etc/ssh/tui-crm",
)
INIT = (
    "sudo -u crm env TUI_CRM_DB=/srv/crm/crm.db TUI_CRM_KEY_FILE=/etc/tui-crm/crm.key"
    " /opt/tui-crm/bin/tui-crm init --admin alice"
)
PASSWORDS = {"alice": "Harbour-Lights-41", "bob": "Quiet-Lantern-72", "sudo-op": "Amber-Rivet-58"}
REAL_CUSTOMER = "Harbour Lights Co"  # whole in the name column at 100 columns
DECOY_CUSTOMER = "Decoy Holdings"
DECOY_FIELDS = ("--type", "customer", "--phone", "13900139000")


@dataclass
class Deployment:
    root: Path
    account: str
    operators_group: str
    sudo_operator: str
    port: int
    sshd_log: Path
    client: Path

    def path(self, production: str) -> Path:
        return Path(f"{self.root}{production}")

    def render(self, text: str) -> str:
        """A deploy/ file with this deployment's paths and names for the production ones."""
        text = PRODUCTION_PATH_RE.sub(lambda m: f"{self.root}{m.group(1)}", text)
        text = re.sub(r"(?<![\w/.-])crm-operators(?![\w/.-])", self.operators_group, text)
        return re.sub(r"(?<![\w/.-])crm(?![\w/.-])", self.account, text)

    def render_file(self, name: str) -> str:
        return self.render((DEPLOY / name).read_text())

    @property
    def db(self) -> Path:
        return self.path("/srv/crm/crm.db")

    @property
    def app(self) -> Path:
        return self.path("/opt/tui-crm/bin/tui-crm")

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """`tui-crm` as the service account, as an admin would run it on the server."""
        command = [
            f"TUI_CRM_DB={self.db}",
            f"TUI_CRM_KEY_FILE={self.path('/etc/tui-crm/crm.key')}",
            self.app,
            *args,
        ]
        return run(as_user(self.account, command), input=input, cwd="/")

    def password(self, operator: str) -> str:
        return PASSWORDS["sudo-op" if operator == self.sudo_operator else operator]

    def ssh_options(self, key: str, *, port: str = "-p", agent: Path | None = None) -> list[str]:
        """Only this key, this server's host key, never a prompt; `-P` for scp and sftp."""
        options = (
            "IdentitiesOnly=yes",
            f"IdentityAgent={agent or 'none'}",
            "BatchMode=yes",
            "StrictHostKeyChecking=yes",
            f"UserKnownHostsFile={self.client / 'known_hosts'}",
            "LogLevel=ERROR",
        )
        identity = ["-i", str(self.client / key)]
        return ["-F", "none", port, str(self.port), *identity, *(f"-o{o}" for o in options)]

    def ssh(
        self, *args: str, key: str = "bob", user: str | None = None, agent: Path | None = None
    ) -> list[str]:
        options = self.ssh_options(key, agent=agent)
        return ["ssh", *options, *args, f"{user or self.account}@127.0.0.1"]

    def log_mark(self) -> int:
        return self.sshd_log.stat().st_size

    def log_since(self, mark: int) -> str:
        with open(self.sshd_log, "rb") as handle:
            handle.seek(mark)
            return handle.read().decode(errors="replace")


def _sh(command: str) -> list[str]:
    return shlex.split(command)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    if os.geteuid() != 0:
        pytest.fail(
            "test_deploy needs root: it creates throwaway accounts and runs sshd (CI runs"
            " as root; run `make test` as root)",
            pytrace=False,
        )
    try:
        ensure_tools()
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)
    with contextlib.ExitStack() as cleanup:
        yield _deploy(cleanup)


def _deploy(cleanup: contextlib.ExitStack) -> Deployment:
    # sshd checks every directory above an AuthorizedKeysFile: none may be world-writable,
    # so the tree lives under /var/lib rather than /tmp.
    root = Path(tempfile.mkdtemp(prefix="tui-crm-deploy-", dir="/var/lib"))
    cleanup.callback(run, ["rm", "-rf", root], check=False)
    root.chmod(0o755)
    suffix = secrets.token_hex(3)
    d = Deployment(
        root=root,
        account=f"tcrm{suffix}",
        operators_group=f"tcrmops{suffix}",
        sudo_operator=f"tcop{suffix}",
        port=free_port(),
        sshd_log=root / "sshd" / "sshd.log",
        client=root / "client",
    )

    cleanup.callback(run, ["userdel", d.account], check=False)
    for line in RECIPE:
        run(_sh(d.render(line)))
    install_app(d.path("/opt/tui-crm"), d.account)
    wrapper = d.path("/opt/tui-crm/bin/tui-crm-ssh")
    wrapper.write_text(d.render_file("tui-crm-ssh"))
    wrapper.chmod(0o755)

    run([*_sh(d.render(INIT)), "--password-stdin"], input=PASSWORDS["alice"] + "\n", cwd="/")
    for name, role in (("bob", "service"), (d.sudo_operator, "service")):
        d.cli("user", "add", name, "--role", role, "--password-stdin", input=d.password(name))
    d.cli(
        "customer", "add", "--name", REAL_CUSTOMER, "--type", "customer", "--phone", "13800138000"
    )

    d.client.mkdir(mode=0o700)
    for key in ("bob", "sudo-op", "stranger"):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", d.client / key])
    template = d.render_file("authorized_keys.template").splitlines()[-1]
    public = (d.client / "bob.pub").read_text().strip()
    keys_file = d.path("/etc/ssh/tui-crm/authorized_keys")
    keys_file.write_text(template.replace("OPERATOR", "bob").replace("PUBLIC_KEY", public) + "\n")
    keys_file.chmod(0o644)

    _sudo_variant(d, cleanup)
    _start_sshd(d, cleanup)
    return d


def _sudo_variant(d: Deployment, cleanup: contextlib.ExitStack) -> None:
    """An operator with an account of their own, let in by ForceCommand + sudo."""
    cleanup.callback(run, ["groupdel", d.operators_group], check=False)
    run(["groupadd", "--system", d.operators_group])
    home = d.root / "home" / d.sudo_operator
    cleanup.callback(run, ["userdel", d.sudo_operator], check=False)
    useradd = ["useradd", "--create-home", "--home-dir", home, "--shell", "/bin/sh"]
    run([*useradd, "--groups", d.operators_group, d.sudo_operator])
    run(["usermod", "--password", "*", d.sudo_operator])
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    (ssh_dir / "authorized_keys").write_text((d.client / "sudo-op.pub").read_text())
    run(["chown", "-R", f"{d.sudo_operator}:", ssh_dir])
    rule = d.root / "sudoers"
    rule.write_text(d.render_file("sudoers.d/tui-crm"))
    run(["visudo", "-cf", rule])
    installed = Path("/etc/sudoers.d") / f"tui-crm-test-{d.account}"
    cleanup.callback(installed.unlink, missing_ok=True)
    run(["install", "-m", "440", rule, installed])


def _start_sshd(d: Deployment, cleanup: contextlib.ExitStack) -> None:
    conf = d.root / "sshd"
    conf.mkdir(mode=0o700)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", conf / "host_key"])
    host_key = (conf / "host_key.pub").read_text().split()
    (d.client / "known_hosts").write_text(f"[127.0.0.1]:{d.port} {host_key[0]} {host_key[1]}\n")
    for name in ("tui-crm.conf", "tui-crm-sudo.conf"):
        (conf / name).write_text(d.render_file(f"sshd_config.d/{name}"))
    (conf / "sshd_config").write_text(
        f"""# Debian's sshd_config defaults, then what a test server needs.
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
Port {d.port}
ListenAddress 127.0.0.1
HostKey {conf / "host_key"}
PidFile {conf / "sshd.pid"}
# DEBUG2 logs each client variable sshd accepts, to prove the test really sent them.
LogLevel DEBUG2
# A careless server: client variables that could redirect the app are accepted.
AcceptEnv TUI_CRM_* PYTHON* TEXTUAL*
Include {conf / "tui-crm.conf"}
Include {conf / "tui-crm-sudo.conf"}
"""
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    run(["/usr/sbin/sshd", "-t", "-f", conf / "sshd_config"])
    process = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-f", str(conf / "sshd_config"), "-E", str(d.sshd_log)],
        stdin=subprocess.DEVNULL,
    )
    cleanup.callback(process.wait)
    cleanup.callback(process.terminate)
    wait_for_port(d.port, process, d.sshd_log)


# --- the app, pinned to the operator ----------------------------------------------------------


def sign_in(d: Deployment, terminal: Terminal, operator: str) -> None:
    """Sign in on the pinned login screen, see the real database's customer, quit."""
    terminal.wait_for("tui-crm — sign in", f"User: {operator}", "Log in")
    terminal.type(d.password(operator) + "\r")
    terminal.wait_for(REAL_CUSTOMER)
    terminal.type("\x11")  # ctrl+q
    code, _ = terminal.finish()
    assert code == 0


def quit_at_login(terminal: Terminal, operator: str) -> str:
    screen = terminal.wait_for(f"User: {operator}", "Log in")
    terminal.type("\x11")
    code, _ = terminal.finish()
    assert code == 0
    return screen


def test_operator_key_opens_the_app_pinned_to_its_operator(deployment: Deployment) -> None:
    d = deployment
    mark = d.log_mark()
    sign_in(d, Terminal(d.ssh("-tt")), "bob")
    assert "forced-command (key-option)" in d.log_since(mark)
    logins = json.loads(d.cli("audit", "list", "--action", "login", "--json").stdout)
    assert logins[0]["actor"] == "bob"


def test_a_requested_command_is_never_run(deployment: Deployment) -> None:
    d = deployment
    for command in (["bash"], ["cat", "/etc/passwd"], ["sh", "-c", "id"]):
        screen = quit_at_login(Terminal([*d.ssh("-tt"), *command]), "bob")
        assert "root:x:0:0" not in screen
        assert "uid=" not in screen
    without_terminal = run([*d.ssh(), "cat", "/etc/passwd"], check=False)
    assert without_terminal.returncode == 65
    assert "needs a terminal" in without_terminal.stderr
    assert "root:" not in without_terminal.stdout


def test_files_cannot_be_copied_either_way(deployment: Deployment) -> None:
    d = deployment
    out = d.root / "stolen"
    out.mkdir()
    options = d.ssh_options("bob", port="-P")
    remote = f"{d.account}@127.0.0.1"
    for source in (d.db, d.path("/etc/tui-crm/crm.key")):
        for legacy in ([], ["-O"]):
            copied = run(["scp", *legacy, *options, f"{remote}:{source}", out / "x"], check=False)
            assert copied.returncode != 0
            assert not (out / "x").exists()
    planted = d.root / "planted.txt"
    planted.write_text("not for the server")
    upload = run(["scp", *options, planted, f"{remote}:{d.path('/srv/crm')}/"], check=False)
    assert upload.returncode != 0
    assert not d.path("/srv/crm/planted.txt").exists()
    batch = f"get {d.db} {out / 'y'}\nput {planted} {d.path('/srv/crm')}/\nls /\n"
    sftp = run(["sftp", *options, "-b", "-", remote], input=batch, check=False)
    assert sftp.returncode != 0
    assert not (out / "y").exists()
    assert not d.path("/srv/crm/planted.txt").exists()


class Listener:
    """A TCP port that records whether anything ever reached it."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.reached = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.accept()
            self.reached.set()

    def close(self) -> None:
        self.socket.close()


def test_no_forwarding_of_any_kind(deployment: Deployment) -> None:
    d = deployment
    target = Listener()
    try:
        mark = d.log_mark()
        stdio = run([*d.ssh("-W", f"127.0.0.1:{target.port}")], input="", check=False)
        assert stdio.returncode != 0
        assert "refused local port forward" in d.log_since(mark)

        remote_port = free_port()
        remote = run(
            d.ssh("-N", "-o", "ExitOnForwardFailure=yes", "-R", f"{remote_port}:127.0.0.1:22"),
            check=False,
        )
        assert remote.returncode != 0
        assert "remote port forwarding failed" in remote.stderr

        local_port = free_port()
        tunnel = subprocess.Popen(
            d.ssh("-N", "-L", f"{local_port}:127.0.0.1:{target.port}"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            mark = d.log_mark()
            with _connect_when_listening(local_port, tunnel) as conn:
                conn.settimeout(30)
                conn.sendall(b"hello")
                # The channel is refused, so ssh drops the connection (a reset, or EOF).
                with contextlib.suppress(ConnectionResetError):
                    assert conn.recv(100) == b""
            assert "refused local port forward" in d.log_since(mark)
        finally:
            tunnel.terminate()
            tunnel.wait()
        assert not target.reached.is_set()
    finally:
        target.close()


@contextlib.contextmanager
def _connect_when_listening(port: int, process: subprocess.Popen[bytes]) -> Iterator[socket.socket]:
    for _ in range(600):
        assert process.poll() is None, "ssh -L exited before listening"
        try:
            conn = socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            time.sleep(0.05)
            continue
        with conn:
            yield conn
        return
    raise AssertionError(f"ssh -L never listened on {port}")


def test_no_agent_forwarding(deployment: Deployment) -> None:
    d = deployment
    socket_path = d.root / "client" / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL)
    try:
        env = {**os.environ, "SSH_AUTH_SOCK": str(socket_path)}
        for _ in range(600):
            if socket_path.exists():
                break
            time.sleep(0.05)
        run(["ssh-add", "-q", d.client / "bob"], env=env)
        mark = d.log_mark()
        terminal = Terminal(d.ssh("-tt", "-A", agent=socket_path), env)
        terminal.wait_for("User: bob")
        uid = pwd.getpwnam(d.account).pw_uid
        agent_dirs = [p for p in Path("/tmp").glob("ssh-*") if p.stat().st_uid == uid]
        quit_at_login(terminal, "bob")
        assert "auth-agent-req@openssh.com" in d.log_since(mark)
        assert "agent forwarding disabled" in d.log_since(mark)
        assert agent_dirs == []
    finally:
        agent.terminate()
        agent.wait()


def test_client_environment_cannot_redirect_the_app(deployment: Deployment) -> None:
    """A second, valid database with its own key and a customer of its own, a config file
    that would stop the app, and a PYTHONPATH that would run code: all sent, none used."""
    d = deployment
    decoy = d.root / "decoy"
    decoy.mkdir(mode=0o755)
    run(["chown", d.account, decoy])
    decoy_env = [f"TUI_CRM_DB={decoy / 'crm.db'}", f"TUI_CRM_KEY_FILE={decoy / 'crm.key'}"]
    run(
        as_user(d.account, [*decoy_env, d.app, "init", "--admin", "bob", "--password-stdin"]),
        input=PASSWORDS["bob"] + "\n",
        cwd="/",
    )
    run(
        as_user(
            d.account,
            [*decoy_env, d.app, "customer", "add", "--name", DECOY_CUSTOMER, *DECOY_FIELDS],
        ),
        cwd="/",
    )
    (decoy / "config.toml").write_text("this is [not toml\n")
    (decoy / "sitecustomize.py").write_text(
        f"open({str(decoy / 'ran')!r}, 'w').write('decoy code ran')\n"
    )
    variables = {
        "TUI_CRM_DB": str(decoy / "crm.db"),
        "TUI_CRM_KEY_FILE": str(decoy / "crm.key"),
        "TUI_CRM_CONFIG": str(decoy / "config.toml"),
        "TUI_CRM_OPERATOR": "alice",
        "PYTHONPATH": str(decoy),
    }
    set_env = [f"SetEnv={' '.join(f'{k}={v}' for k, v in variables.items())}"]
    for options, env in (
        (["-o", *set_env], None),
        (["-o", "SendEnv=TUI_CRM_* PYTHONPATH"], {**os.environ, **variables}),
    ):
        mark = d.log_mark()
        terminal = Terminal(d.ssh("-tt", *options), env)
        terminal.wait_for("User: bob", "Log in")  # the button may be drawn after the user
        sign_in(d, terminal, "bob")
        log = d.log_since(mark)
        for name, value in variables.items():
            assert re.search(rf"Setting env \d+: {name}={re.escape(value)}\r?\n", log), name
        assert DECOY_CUSTOMER not in terminal.text()
        assert not (decoy / "ran").exists()


def test_no_password_no_stranger_key(deployment: Deployment) -> None:
    d = deployment
    stranger = run([*d.ssh(key="stranger"), "true"], check=False)
    assert stranger.returncode == 255
    assert "Permission denied (publickey)" in stranger.stderr
    password = run(
        [
            *d.ssh("-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password"),
            "true",
        ],
        check=False,
    )
    assert "Permission denied (publickey)" in password.stderr
    shadow = run(["getent", "shadow", d.account]).stdout.split(":")
    assert shadow[1] == "*"
    assert pwd.getpwnam(d.account).pw_shell == "/bin/sh"
    home = Path(pwd.getpwnam(d.account).pw_dir)
    assert home.stat().st_uid == 0 and not home.stat().st_mode & 0o022


# --- the sudo variant ---------------------------------------------------------------------------


def test_sudo_variant_pins_the_operators_own_account(deployment: Deployment) -> None:
    d = deployment
    op = d.sudo_operator
    sign_in(d, Terminal(d.ssh("-tt", key="sudo-op", user=op)), op)
    quit_at_login(Terminal([*d.ssh("-tt", key="sudo-op", user=op), "bash"]), op)
    no_tty = run([*d.ssh(key="sudo-op", user=op), "cat", "/etc/passwd"], check=False)
    assert no_tty.returncode != 0 and "root:" not in no_tty.stdout
    options = d.ssh_options("sudo-op", port="-P")
    sftp = run(["sftp", *options, "-b", "-", f"{op}@127.0.0.1"], input=f"get {d.db}\n", check=False)
    assert sftp.returncode != 0
    wrapper = d.path("/opt/tui-crm/bin/tui-crm-ssh")
    # Even someone holding a shell on the operator's account gets nothing else from sudo.
    for attempt in ([wrapper, "alice"], ["/bin/sh", "-c", "id"]):
        refused = run(
            ["runuser", "-u", op, "--", "sudo", "-n", "-u", d.account, *attempt],
            check=False,
            cwd="/",
        )
        assert refused.returncode != 0
        assert "a password is required" in refused.stderr


# --- the doctor on the deployed server ------------------------------------------------------------


def run_doctor(d: Deployment) -> list[dict[str, str]]:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tui_crm import doctor\n"
        "from tui_crm.config import Settings\n"
        "db, key, keys_file = map(Path, sys.argv[1:])\n"
        "settings = Settings(authorized_keys=str(keys_file))\n"
        "print(doctor.checks_json(doctor.run_checks(db, key, settings)))\n"
    )
    python = d.path("/opt/tui-crm/bin/python")
    done = run(
        as_user(
            d.account,
            [
                python,
                "-c",
                code,
                d.db,
                d.path("/etc/tui-crm/crm.key"),
                d.path("/etc/ssh/tui-crm/authorized_keys"),
            ],
        ),
        cwd="/",
    )
    return json.loads(done.stdout)


def test_doctor_passes_the_deployment(deployment: Deployment) -> None:
    checks = {c["name"]: c for c in run_doctor(deployment)}
    for name in (
        "database file",
        "key file",
        "key matches database",
        "database",
        "audit chain",
        "disk space",
        "residue",
        "service account",
        "authorized_keys",
    ):
        assert checks[name]["status"] == "ok", checks[name]
    assert all(c["status"] != "fail" for c in checks.values()), checks


def test_a_nologin_shell_locks_operators_out_and_doctor_says_so(deployment: Deployment) -> None:
    """The recipe this replaces (issue 13): sshd runs the forced command through the
    account's shell, and nologin refuses it, so the app never starts."""
    d = deployment
    run(["usermod", "--shell", "/usr/sbin/nologin", d.account])
    try:
        code, output = Terminal(d.ssh("-tt")).finish()
        assert code != 0
        assert "This account is currently not available." in output
        account = {c["name"]: c for c in run_doctor(d)}["service account"]
        assert account["status"] == "fail"
        assert "cannot run the forced command" in account["message"]
    finally:
        run(["usermod", "--shell", "/bin/sh", d.account])


# --- scheduled jobs: the systemd units and the cron file ----------------------------------------


def read_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections; keys may repeat (Environment=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def run_job(d: Deployment, env: list[str], umask: str, command: str) -> None:
    """A job as its unit or cron line would run it: that user, that environment."""
    done = run(
        as_user(d.account, [*env, "/bin/sh", "-c", f"umask {umask}; {command}"]),
        check=False,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr


def newest_drill(d: Deployment) -> dict[str, Any] | None:
    drills = json.loads(d.cli("audit", "list", "--action", "backup.drill", "--json").stdout)
    return drills[0] if drills else None


SCHEDULES = {"tui-crm-backup": "*-*-* 02:30:00", "tui-crm-drill": "*-*-01 04:15:00"}


def test_systemd_units_verify_and_their_jobs_run(deployment: Deployment) -> None:
    d = deployment
    units = d.root / "systemd"
    units.mkdir()
    for path in sorted((DEPLOY / "systemd").iterdir()):
        (units / path.name).write_text(d.render_file(f"systemd/{path.name}"))
    verify = run(["systemd-analyze", "verify", "--man=no", *sorted(units.iterdir())], check=False)
    assert verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(), verify.stderr
    for name, schedule in SCHEDULES.items():
        timer = read_unit((units / f"{name}.timer").read_text())
        calendar = run(["systemd-analyze", "calendar", *timer["Timer"]["OnCalendar"]]).stdout
        assert f"Normalized form: {schedule}" in calendar
        service = read_unit((units / f"{name}.service").read_text())["Service"]
        assert service["User"] == [d.account]
        before = len(list(d.path("/srv/crm/backups").glob("*.json")))
        run_job(d, service["Environment"], service["UMask"][0], service["ExecStart"][0])
        if name == "tui-crm-backup":
            assert len(list(d.path("/srv/crm/backups").glob("*.json"))) == before + 1
        else:
            drill = newest_drill(d)
            assert drill is not None and drill["details"]["ok"] is True


def test_cron_file_runs_the_same_jobs_on_the_same_schedule(deployment: Deployment) -> None:
    d = deployment
    text = d.render_file("cron.d/tui-crm")
    env, jobs = [], []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):
            env.append(line)
        else:
            jobs.append(line.split(None, 6))
    assert [j[5] for j in jobs] == [d.account] * 2
    # cron's own variables, then the file's (cron runs each command with SHELL -c).
    account = pwd.getpwnam(d.account)
    base = [f"HOME={account.pw_dir}", f"LOGNAME={d.account}"]
    for (minute, hour, dom, month, dow, _user, command), (name, schedule) in zip(
        jobs, SCHEDULES.items(), strict=True
    ):
        day = "*" if dom == "*" else f"{int(dom):02d}"
        assert schedule == f"*-*-{day} {int(hour):02d}:{int(minute):02d}:00", name
        assert (month, dow) == ("*", "*")
        before = newest_drill(d)
        run_job(d, base + env, "022", command)
        if "drill" in command:
            drill = newest_drill(d)
            assert drill is not None and drill != before and drill["details"]["ok"] is True
    backups = sorted(d.path("/srv/crm/backups").glob("*.bak"))
    assert backups and all(p.stat().st_mode & 0o077 == 0 for p in backups)


# --- README ------------------------------------------------------------------------------------


def readme_section() -> str:
    text = (CHECKOUT / "README.md").read_text()
    start = text.index("## Deploying on a server for SSH users")
    return text[start : text.index("\n## ", start + 1)]


def test_readme_gives_exactly_this_recipe() -> None:
    """The commands above, the key line, the Match blocks and the sudoers rule, verbatim,
    and every file in deploy/ named where it is installed."""
    section = readme_section()
    for line in (*RECIPE, INIT):
        assert line in section, line
    template = (DEPLOY / "authorized_keys.template").read_text().splitlines()[-1]
    assert template in section
    for name in (
        "sshd_config.d/tui-crm.conf",
        "sshd_config.d/tui-crm-sudo.conf",
        "sudoers.d/tui-crm",
    ):
        for line in (DEPLOY / name).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                assert line.strip() in section, line
    for path in DEPLOY.rglob("*"):
        relative = path.relative_to(CHECKOUT)
        if path.is_file():
            assert f"{relative}" in section or f"{relative.parent}/tui-crm-*" in section, relative
