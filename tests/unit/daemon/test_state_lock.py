"""One daemon per state directory: the flock on <state>/mismarterad.lock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mismarterad.core.errors import LockedError, StorageError
from mismarterad.daemon.state_lock import LOCK_FILE, acquire_state_lock


def test_the_second_locker_is_refused_naming_the_holders_pid(tmp_path: Path) -> None:
    state = tmp_path / "state"  # created by the lock
    with acquire_state_lock(state) as lock:
        assert lock.held and (state / LOCK_FILE).read_text() == f"{os.getpid()} running\n"
        with pytest.raises(LockedError, match=rf"in use by another mismarterad run \(pid {os.getpid()},"):
            acquire_state_lock(state)
    assert not lock.held
    with acquire_state_lock(state):  # released: free again
        pass


def test_another_process_is_refused_while_held_and_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; from mismarterad.daemon.state_lock import acquire_state_lock\n"
            "lock = acquire_state_lock(Path(sys.argv[1])); print('locked', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(LockedError, match=rf"pid {holder.pid},"):
            acquire_state_lock(tmp_path)
    finally:
        holder.kill()  # like kill -9: no clean-up, the kernel drops the lock
        holder.wait(10)
    with acquire_state_lock(tmp_path) as lock:  # the stale file (a dead pid in it) does not block
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()} running\n"
        assert lock.previous_unclean, "its holder was killed: it never stopped in order"


def test_a_state_directory_that_cannot_be_created_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="cannot create the state directory lock"):
        acquire_state_lock(blocker / "state")


def test_a_stop_in_order_is_told_from_a_death(tmp_path: Path) -> None:
    with acquire_state_lock(tmp_path) as first:
        assert not first.previous_unclean, "a first start follows no death"
        first.mark_stopped()
    assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()} stopped\n"
    with acquire_state_lock(tmp_path) as second:
        assert not second.previous_unclean, "a deploy: the predecessor stopped in order"
    # released without mark_stopped (the daemon returned an error code): the next start is a recovery
    with acquire_state_lock(tmp_path) as third:
        assert third.previous_unclean


def test_an_older_daemons_note_is_not_taken_for_a_death(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text("4242\n")  # before notes said running/stopped
    with acquire_state_lock(tmp_path) as lock:
        assert not lock.previous_unclean
