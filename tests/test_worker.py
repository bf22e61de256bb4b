"""The ledger that shares kept-alive connections evenly between the server's workers.
The running server is tested in test_serve.py."""
import os
from types import SimpleNamespace

from gunicorn.workers.gthread import ThreadWorker

from housing.worker import FREE, Ledger


def claimed(ledger, n):
    workers = [SimpleNamespace() for _ in range(n)]
    for w in workers:
        ledger.claim(None, w)
    return workers


def test_slots_are_handed_out_in_order_and_given_back():
    ledger = Ledger(2)
    assert list(ledger.held) == [0, 0]
    a, b, c = claimed(ledger, 3)
    assert (a.slot, b.slot, c.slot) == (0, 1, None)
    ledger.release(None, a)
    assert list(ledger.held) == [FREE, 0]
    (d,) = claimed(ledger, 1)
    assert d.slot == 0 and list(ledger.held) == [0, 0]
    ledger.release(None, c)  # a worker without a slot gives nothing back
    assert list(ledger.held) == [0, 0]


def test_a_worker_not_yet_forked_counts_as_holding_nothing():
    ledger = Ledger(2)
    (a,) = claimed(ledger, 1)
    assert ledger.may_accept(a.slot, 0) is True
    assert ledger.may_accept(a.slot, 1) is False


def test_a_worker_accepts_while_no_other_holds_fewer():
    ledger = Ledger(3)
    claimed(ledger, 3)
    assert ledger.may_accept(0, 1) is False  # 1 against 0 and 0
    assert ledger.may_accept(1, 1) is False  # 1 against 1 and 0
    assert ledger.may_accept(2, 1) is True  # all hold 1: a tie accepts
    assert ledger.may_accept(2, 2) is False
    assert ledger.may_accept(0, 0) is True
    assert list(ledger.held) == [0, 1, 2]


def test_a_released_slot_does_not_count_and_a_worker_without_one_always_accepts():
    ledger = Ledger(2)
    a, b = claimed(ledger, 2)
    ledger.release(None, b)
    assert ledger.may_accept(a.slot, 50) is True
    assert ledger.may_accept(None, 10 ** 6) is True
    assert list(ledger.held) == [50, FREE]


def test_the_counts_are_shared_with_a_forked_worker():
    ledger = Ledger(2)
    claimed(ledger, 2)
    pid = os.fork()
    if pid == 0:  # the child writes as a worker would, and leaves at once
        ledger.may_accept(1, 7)
        os._exit(0)
    os.waitpid(pid, 0)
    assert list(ledger.held) == [0, 7]
    assert ledger.may_accept(0, 8) is False


def test_options_run_the_worker_over_this_ledger():
    ledger = Ledger(2, pin=True)
    options = ledger.options()
    assert issubclass(options["worker_class"], ThreadWorker)
    assert options["worker_class"].ledger is ledger
    assert options["pre_fork"] == ledger.claim and options["child_exit"] == ledger.release


def test_workers_keep_to_one_cpu_each_only_where_they_fill_the_cpus():
    two, four = Ledger(2, pin=True), Ledger(4, pin=True)
    assert [two.cpus(slot, [3, 5]) for slot in (0, 1)] == [{3}, {5}]
    assert [four.cpus(slot, [3, 5]) for slot in range(4)] == [{3}, {5}, {3}, {5}]
    assert two.cpus(0, [3, 5, 6]) == {3, 5, 6}  # more CPUs than workers
    assert two.cpus(0, [3]) == {3}
    assert two.cpus(None, [3, 5]) == {3, 5}  # no slot
    assert Ledger(2).cpus(0, [3, 5]) == {3, 5}  # --no-pin
    assert Ledger(1, pin=True).cpus(0, [3, 5]) == {3, 5}
