"""A merchant's first hour, in real processes: a wrong setting stops `flask run`, any `flask`
command and gunicorn with one line that names it (exit status 1, no traceback); the demo
will not start beside another program on the simulator's port; `flask amazon-pay-check`
starts no server of its own and says when nothing answered."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(args: list[str], tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    """A command in the repository, with only the given settings (no .env: FLASK_SKIP_DOTENV)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMAZON_PAY_", "SHOP_", "FLASK_", "MAIL_"))}
    env.pop("DATABASE_URL", None)
    env.update(FLASK_APP="app.py", FLASK_SKIP_DOTENV="1", SHOP_INSTANCE_PATH=str(tmp_path / "instance"), **settings)
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["flask", "run", "--port", "0"], id="flask run"),
        pytest.param(["flask", "amazon-pay", "reconcile"], id="flask command", marks=pytest.mark.slow),
        pytest.param(["flask", "amazon-pay-check"], id="amazon-pay-check", marks=pytest.mark.slow),
        pytest.param(["gunicorn", "shop:create_app()"], id="gunicorn", marks=pytest.mark.slow),
    ],
)
def test_a_wrong_setting_stops_start_up_with_one_line_naming_it(tmp_path, command):
    done = run([str(BIN / command[0]), *command[1:]], tmp_path, AMAZON_PAY_MODE="sandbox", SHOP_BIND="127.0.0.1:0")
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("Configuration error: AMAZON_PAY_PUBLIC_KEY_ID is not set") and ".env" in lines[0]


@pytest.mark.slow
def test_a_mistyped_choice_names_the_setting_and_its_values(tmp_path):
    done = run([str(BIN / "flask"), "run", "--port", "0"], tmp_path, AMAZON_PAY_REGION="usa")
    assert done.returncode == 1 and done.stderr.strip() == (
        "Configuration error: AMAZON_PAY_REGION='usa': use one of us, eu, uk, jp. "
        "(set in .env or the environment; see .env.example)"
    )


def test_a_database_that_does_not_answer_is_one_line_naming_the_setting(tmp_path):
    url = f"postgresql+psycopg://shop:secret@127.0.0.1:{free_port()}/shop"  # nothing listens there
    done = run([str(BIN / "flask"), "run", "--port", "0"], tmp_path, DATABASE_URL=url)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(
        "Configuration error: DATABASE_URL: the database postgresql+psycopg://shop:***@127.0.0.1:"
    )
    assert "secret" not in done.stderr


def test_the_demo_refuses_to_start_when_the_simulators_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run(
            [str(BIN / "flask"), "run", "--port", str(free_port())],
            tmp_path,
            AMAZON_PAY_SIMULATOR_URL=f"http://127.0.0.1:{port}",
        )
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"The demo cannot start: port {port} (the Amazon Pay simulator")
    assert "in use by another program" in last and "AMAZON_PAY_SIMULATOR_URL=" in last
    assert "Traceback" not in done.stderr


def test_amazon_pay_check_starts_no_server_and_says_nothing_answered(tmp_path):
    port = free_port()
    done = run([str(BIN / "flask"), "amazon-pay-check"], tmp_path, AMAZON_PAY_SIMULATOR_URL=f"http://127.0.0.1:{port}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"the connection to 127.0.0.1:{port} failed" in done.stdout
    assert "The keys were not checked." in done.stdout and "Signature accepted" not in done.stdout
    assert "make demo" in done.stdout
    assert "simulator listening" not in done.stderr  # no simulator of its own: the port stayed free
