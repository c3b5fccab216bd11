"""The container restart back-off: immediate first restart, then 10 s doubling to 5 min, reset after 10 min."""

import pytest

from everynode.node.backoff import Backoff


def crash_loop(finishes: list[float]) -> list[float]:
    """Back-off window seen at each crash (0 = restarted at once), restarting as soon as allowed."""
    b = Backoff()
    out = []
    for t in finishes:
        if b.in_backoff_since("c", t, t):
            out.append(b.get("c"))
            restart_at = b.until("c", t)
            b.next("c", t, restart_at)
        else:
            out.append(0.0)
            b.next("c", t, t)
    return out


def test_windows_double_up_to_five_minutes():
    # Crashes come right after each restart: windows 10, 20, 40, ... capped at 300.
    b = Backoff()
    t = 0.0
    b.next("c", t, t)  # first crash restarts at once
    windows = []
    for _ in range(8):
        t += 1  # the restarted container crashes a second later
        assert b.in_backoff_since("c", t, t)
        windows.append(b.get("c"))
        t = b.until("c", t)
        b.next("c", t - 0.0, t)
    assert windows == [10, 20, 40, 80, 160, 300, 300, 300]


def test_first_crash_restarts_immediately():
    assert crash_loop([0.0])[0] == 0.0


@pytest.mark.parametrize("ran_for,reset", [(599, False), (601, True)])
def test_reset_after_ten_minutes_of_running(ran_for, reset):
    b = Backoff()
    b.next("c", 0, 0)
    b.next("c", 1, 11)  # window 20 s, restarted at 11
    finished = 11 + ran_for
    in_backoff = b.in_backoff_since("c", finished, finished)
    assert in_backoff is (not reset)
    b.next("c", finished, finished)
    assert b.get("c") == (10 if reset else 40)


def test_keys_are_independent_and_reset():
    b = Backoff()
    b.next("a", 0, 0)
    assert b.in_backoff_since("a", 1, 1) and not b.in_backoff_since("b", 1, 1)
    b.reset("a")
    assert not b.in_backoff_since("a", 1, 1)
