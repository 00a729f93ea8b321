"""The local users file: hashing, atomic writes, lockout, and ``python -m safeguards.users``."""
from __future__ import annotations

import datetime as dt
import json
import io
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from core.errors import ConfigError
from safeguards import users as users_module
from safeguards.audit import read_audit, verify
from safeguards.auth import LockoutPolicy
from safeguards.users import (
    LOCKED,
    OK,
    UNKNOWN_USER,
    WRONG_PASSWORD,
    UsersFile,
    UsersFileError,
    has_users,
    main,
)
from tests.conftest import FROZEN_AT
from tests.signin_helpers import FAST_HASHER, PASSWORD, write_users

# Listings say whether an account is locked *now*: the tests' clock (tests/conftest.py) holds T0.
T0 = FROZEN_AT


@pytest.fixture
def users(tmp_path) -> UsersFile:
    return write_users(tmp_path / "instance" / "users.json", {"ana": "analyst", "ada": "admin"},
                       policy=LockoutPolicy(attempts=3, lock_s=600))


def fail(users: UsersFile, n: int, name: str = "ana", now=T0):
    return [users.authenticate(name, "wrong password!", now=now) for _ in range(n)]


# -- the file ----------------------------------------------------------------------------------
def test_file_holds_argon2_hashes_never_passwords_and_is_private(users):
    text = users.path.read_text()
    assert PASSWORD not in text
    content = json.loads(text)
    assert content["format"] == 1
    assert content["users"]["ana"]["password_hash"].startswith("$argon2id$")
    assert content["users"]["ana"]["role"] == "analyst"
    assert stat.S_IMODE(os.stat(users.path).st_mode) == 0o600


def test_listing_shows_names_roles_and_state_but_no_hash(users):
    listed = users.list_users()
    assert [(u.name, u.role, u.locked) for u in listed] == [("ada", "admin", False),
                                                            ("ana", "analyst", False)]
    assert not any("argon2" in repr(u) for u in listed)


def test_names_are_case_insensitive(users):
    assert users.authenticate("  ANA ", PASSWORD).role == "analyst"
    with pytest.raises(UsersFileError, match="already exists"):
        users.add("Ana", "chair", PASSWORD)


@pytest.mark.parametrize("name, role, password, message", [
    ("bob", "superuser", PASSWORD, "'superuser' is not a role"),
    ("bob", "chair", "short", "too short"),
    ("bob smith", "chair", PASSWORD, "not allowed"),
    ("", "chair", PASSWORD, "not allowed"),
    ("-bob", "chair", PASSWORD, "not allowed"),
])
def test_add_refuses_bad_input_and_leaves_the_file_alone(users, name, role, password, message):
    before = users.path.read_bytes()
    with pytest.raises(UsersFileError, match=message):
        users.add(name, role, password)
    assert users.path.read_bytes() == before


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(users, monkeypatch):
    before = users.path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(users_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        users.set_role("ana", "chair")
    assert users.path.read_bytes() == before
    assert sorted(p.name for p in users.path.parent.iterdir()) == ["users.json", "users.json.lock"]


def test_set_role_remove_and_unknown_users(users):
    users.set_role("ana", "chair")
    assert users.role_of("ana") == "chair"
    users.remove("ana")
    assert users.role_of("ana") is None
    with pytest.raises(UsersFileError, match="no user 'ana'"):
        users.unlock("ana")


def test_corrupt_file_is_a_config_error_naming_the_file(tmp_path):
    path = tmp_path / "users.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="USERS_FILE .*users.json"):
        UsersFile(path).list_users()


def test_has_users(tmp_path, users):
    assert has_users(users.path)
    assert not has_users(tmp_path / "missing.json")
    users.remove("ana")
    users.remove("ada")
    assert not has_users(users.path)


# -- signing in and lockout --------------------------------------------------------------------
def test_right_password_signs_in_and_records_when(users):
    result = users.authenticate("ana", PASSWORD, now=T0)
    assert (result.ok, result.user, result.role) == (True, "ana", "analyst")
    assert users.get("ana").last_sign_in == T0.isoformat()


def test_unknown_user_and_wrong_password_both_fail(users):
    assert users.authenticate("nobody", PASSWORD).reason == UNKNOWN_USER
    wrong = users.authenticate("ana", "not the password")
    assert (wrong.ok, wrong.reason, wrong.role) == (False, WRONG_PASSWORD, None)
    assert users.get("ana").failed_attempts == 1


def test_account_locks_after_repeated_failures_even_for_the_right_password(users):
    results = fail(users, 3)
    assert [r.locked_now for r in results] == [False, False, True]
    locked = users.authenticate("ana", PASSWORD, now=T0 + dt.timedelta(minutes=1))
    assert (locked.ok, locked.reason) == (False, LOCKED)
    assert users.get("ana").locked
    # the other account is not affected
    assert users.authenticate("ada", PASSWORD, now=T0).ok


def test_lockout_survives_a_new_reader_of_the_file(users):
    fail(users, 3)
    fresh = UsersFile(users.path, hasher=FAST_HASHER, policy=users.policy)
    assert fresh.authenticate("ana", PASSWORD, now=T0).reason == LOCKED


def test_attempts_while_locked_do_not_extend_the_lock(users):
    fail(users, 3)
    until = users.get("ana").locked_until
    fail(users, 5, now=T0 + dt.timedelta(minutes=5))
    assert users.get("ana").locked_until == until


def test_lock_runs_out_after_the_lockout_period_and_counting_starts_afresh(users):
    fail(users, 3)
    assert users.authenticate("ana", PASSWORD, now=T0 + dt.timedelta(seconds=599)).reason == LOCKED
    later = T0 + dt.timedelta(seconds=601)
    assert users.authenticate("ana", "wrong again!!", now=later).reason == WRONG_PASSWORD
    assert users.get("ana").failed_attempts == 1
    assert users.authenticate("ana", PASSWORD, now=later).ok


def test_lockout_without_a_period_lasts_until_an_admin_unlocks(tmp_path):
    users = write_users(tmp_path / "u.json", {"ana": "analyst"},
                        policy=LockoutPolicy(attempts=2, lock_s=None))
    fail(users, 2)
    assert users.authenticate("ana", PASSWORD, now=T0 + dt.timedelta(days=365)).reason == LOCKED
    users.unlock("ana")
    assert users.authenticate("ana", PASSWORD, now=T0).ok


def test_success_resets_the_failure_count(users):
    fail(users, 2)
    assert users.authenticate("ana", PASSWORD, now=T0).ok
    assert users.get("ana").failed_attempts == 0
    assert [r.locked_now for r in fail(users, 2)] == [False, False]


def test_set_password_replaces_the_hash_and_clears_the_lock(users):
    fail(users, 3)
    users.set_password("ana", "a brand new passphrase")
    assert users.authenticate("ana", "a brand new passphrase", now=T0).ok
    assert not users.authenticate("ana", PASSWORD, now=T0).ok


def test_concurrent_failures_are_all_counted_once(users):
    users.policy = LockoutPolicy(attempts=50, lock_s=600)
    threads = [threading.Thread(target=fail, args=(users, 2)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert users.get("ana").failed_attempts == 16


def test_a_weaker_hash_is_upgraded_at_sign_in(users):
    strong = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    upgraded = UsersFile(users.path, hasher=strong, policy=users.policy)
    assert upgraded.authenticate("ana", PASSWORD).ok
    stored = json.loads(users.path.read_text())["users"]["ana"]["password_hash"]
    assert "m=2048,t=2" in stored
    assert not strong.check_needs_rehash(stored)


# -- command line ------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def audit_store(tmp_path, monkeypatch):
    """The store whose audit log the command line writes to: this test's own, never ./store."""
    path = tmp_path / "store"
    monkeypatch.setenv("STORE_URL", str(path))
    return path


@pytest.fixture
def typed(monkeypatch):
    """Answers for getpass, in order; records prompts. getpass never echoes, so neither do we."""
    answers = _Answers()

    def fake_getpass(prompt=""):
        answers.prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr(users_module.getpass, "getpass", fake_getpass)
    monkeypatch.setattr(users_module, "_stdin_is_terminal", lambda: True)  # someone typing
    monkeypatch.setattr(users_module, "PasswordHasher", lambda: FAST_HASHER)
    return answers


class _Answers(list):
    def __init__(self):
        super().__init__()
        self.prompts: list[str] = []


def test_cli_add_asks_twice_and_never_prints_the_password(tmp_path, typed, capsys):
    path = tmp_path / "users.json"
    typed.extend([PASSWORD, PASSWORD])
    assert main(["--file", str(path), "add", "Ana", "--role", "analyst"]) == 0
    assert typed.prompts == ["Password: ", "Password again: "]
    out = capsys.readouterr()
    assert "added ana as Analyst (analyst)" in out.out
    assert PASSWORD not in out.out + out.err
    assert UsersFile(path, hasher=FAST_HASHER).authenticate("ana", PASSWORD).ok


def test_cli_add_refuses_passwords_that_differ(tmp_path, typed, capsys):
    path = tmp_path / "users.json"
    typed.extend([PASSWORD, PASSWORD + "x"])
    assert main(["--file", str(path), "add", "ana", "--role", "analyst"]) == 2
    assert "the two passwords differ" in capsys.readouterr().err
    assert not path.exists()


def test_cli_add_refuses_an_existing_name_before_asking(users, typed, capsys):
    assert main(["--file", str(users.path), "add", "ANA", "--role", "chair"]) == 2
    assert typed.prompts == []
    assert "already exists" in capsys.readouterr().err


def test_cli_list_set_role_unlock_remove(users, typed, capsys):
    fail(users, 3)
    assert main(["--file", str(users.path), "list"]) == 0
    listing = capsys.readouterr().out
    assert "argon2" not in listing
    assert "ada" in listing and "admin" in listing
    assert "ana" in listing and "locked until" in listing

    assert main(["--file", str(users.path), "set-role", "ana", "chair"]) == 0
    assert main(["--file", str(users.path), "unlock", "ana"]) == 0
    assert (users.get("ana").role, users.get("ana").locked) == ("chair", False)
    assert main(["--file", str(users.path), "remove", "ana"]) == 0
    assert users.get("ana") is None
    assert main(["--file", str(users.path), "remove", "ana"]) == 2
    assert "no user 'ana'" in capsys.readouterr().err


def test_cli_uses_the_users_file_setting(tmp_path, typed, monkeypatch):
    path = tmp_path / "elsewhere" / "users.json"
    monkeypatch.setenv("USERS_FILE", str(path))
    typed.extend([PASSWORD, PASSWORD])
    assert main(["add", "ada", "--role", "admin"]) == 0
    assert has_users(path)


def test_cli_set_password_asks_twice(users, typed):
    typed.extend(["another long passphrase"] * 2)
    assert main(["--file", str(users.path), "set-password", "ana"]) == 0
    assert UsersFile(users.path, hasher=FAST_HASHER).authenticate(
        "ana", "another long passphrase").reason == OK


# -- the command line's changes are audited ----------------------------------------------------
def test_cli_changes_are_audited_as_the_os_user_and_never_hold_the_password(
        users, typed, audit_store, monkeypatch):
    monkeypatch.setattr(users_module.getpass, "getuser", lambda: "opsadmin")
    path = str(users.path)
    typed.extend([PASSWORD, PASSWORD, "another long passphrase", "another long passphrase"])
    fail(users, 3, name="ada")
    assert main(["--file", path, "add", "Chris", "--role", "chair"]) == 0
    assert main(["--file", path, "set-role", "chris", "executive"]) == 0
    assert main(["--file", path, "set-password", "chris"]) == 0
    assert main(["--file", path, "unlock", "ada"]) == 0
    assert main(["--file", path, "remove", "ana"]) == 0
    assert main(["--file", path, "list"]) == 0  # a listing changes nothing: not audited

    changes = read_audit(audit_store)
    assert list(changes["action"]) == ["user-change"] * 5
    assert set(changes["actor"]) == {"opsadmin"}
    assert changes["role"].isna().all() and changes["page"].isna().all()
    assert list(changes["detail"])[::-1] == [
        "cli: added chris as chair", "cli: role of chris changed from chair to executive",
        "cli: password of chris replaced", "cli: unlocked ada", "cli: removed ana (analyst)"]
    log = (audit_store / "_audit" / "audit.jsonl").read_text()
    assert PASSWORD not in log and "another long passphrase" not in log and "argon2" not in log
    assert verify(audit_store).ok


def test_cli_store_option_names_the_audit_log(users, typed, tmp_path, audit_store):
    elsewhere = tmp_path / "other-store"
    assert main(["--file", str(users.path), "--store", str(elsewhere), "unlock", "ana"]) == 0
    assert list(read_audit(elsewhere)["detail"]) == ["cli: unlocked ana"]
    assert read_audit(audit_store).empty


def test_cli_failed_change_is_not_audited(users, typed, audit_store):
    assert main(["--file", str(users.path), "remove", "nobody"]) == 2
    typed.extend([PASSWORD, PASSWORD + "x"])
    assert main(["--file", str(users.path), "add", "zoe", "--role", "chair"]) == 2
    assert read_audit(audit_store).empty


def test_cli_changes_nothing_when_the_audit_log_cannot_be_reached(users, typed, capsys):
    before = users.path.read_bytes()
    assert main(["--file", str(users.path), "--store", "mysql://db/wy", "remove", "ana"]) == 2
    assert "unsupported kind of store" in capsys.readouterr().err
    assert users.path.read_bytes() == before and users.get("ana") is not None


def test_cli_audits_a_numeric_user_without_a_name(users, typed, audit_store, monkeypatch):
    def no_name():
        raise OSError("No username set in the environment")  # a container's bare UID

    monkeypatch.setattr(users_module.getpass, "getuser", no_name)
    assert main(["--file", str(users.path), "unlock", "ana"]) == 0
    assert read_audit(audit_store).iloc[0]["actor"] == f"uid {os.getuid()}"


# -- piped input (issue 12): --password-stdin, and a clear error without it ---------------------
PROJECT = Path(__file__).resolve().parent.parent


def _run_cli(args, stdin_text, tmp_path):
    env = {**os.environ, "STORE_URL": str(tmp_path / "store")}
    return subprocess.run([sys.executable, "-m", "safeguards.users", *args], input=stdin_text,
                          capture_output=True, text=True, cwd=PROJECT, env=env, timeout=120)


def test_cli_add_with_piped_input_and_no_flag_says_what_to_do_without_a_traceback(tmp_path):
    path = tmp_path / "users.json"
    result = _run_cli(["--file", str(path), "add", "ana", "--role", "analyst"],
                      PASSWORD + "\n", tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "EOFError" not in result.stderr
    assert "standard input is not a terminal" in result.stderr
    assert "--password-stdin" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert not path.exists()


def test_cli_add_password_stdin_reads_one_line(tmp_path):
    path = tmp_path / "users.json"
    result = _run_cli(["--file", str(path), "add", "ana", "--role", "analyst",
                       "--password-stdin"], PASSWORD + "\nsecond line ignored\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "added ana as Analyst (analyst)" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    users = UsersFile(path)
    assert users.authenticate("ana", PASSWORD).ok
    assert not users.authenticate("ana", "second line ignored").ok
    audit = read_audit(tmp_path / "store")
    assert audit.iloc[0]["detail"] == "cli: added ana as analyst"
    assert PASSWORD not in audit.to_csv()


@pytest.mark.parametrize("piped", ["", "\n", "short\n"])
def test_cli_password_stdin_refuses_an_empty_or_short_password(users, typed, monkeypatch,
                                                                capsys, piped):
    monkeypatch.setattr(sys, "stdin", io.StringIO(piped))
    before = users.path.read_bytes()
    assert main(["--file", str(users.path), "set-password", "ana", "--password-stdin"]) == 2
    err = capsys.readouterr().err
    assert "no password on standard input" in err or "too short" in err
    assert users.path.read_bytes() == before
    assert typed.prompts == []  # never fell back to asking


def test_cli_set_password_from_stdin(users, typed, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-new-long-passphrase\r\n"))
    assert main(["--file", str(users.path), "set-password", "ana", "--password-stdin"]) == 0
    assert UsersFile(users.path, hasher=FAST_HASHER).authenticate(
        "ana", "a-new-long-passphrase").ok


def test_cli_typed_end_of_input_is_a_clear_error(tmp_path, typed, monkeypatch, capsys):
    def eof(prompt=""):
        raise EOFError

    monkeypatch.setattr(users_module.getpass, "getpass", eof)
    path = tmp_path / "users.json"
    assert main(["--file", str(path), "add", "ana", "--role", "analyst"]) == 2
    assert "no password was typed" in capsys.readouterr().err
    assert not path.exists()
