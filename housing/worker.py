"""gunicorn's threaded worker as the server runs it: kept-alive connections shared evenly
between processes, each process on a CPU of its own, and JSON for what gunicorn itself
refuses.

Every worker waits on the one listening socket and whichever wakes first takes the
connection. Clients that connect at once and keep their connections open can so land
mostly on one worker: `make bench-serve`'s 16 connections were seen split 15 to 1, the
busy worker saturated, the other idle, and the rate fell by up to 40 %. Here each
worker writes how many connections it holds into memory all the workers share, and
listens for new ones only while it holds no more than any other.

Where there are no more CPUs than workers, each worker also keeps to one CPU, worker i
to the i-th, as nginx's ``worker_cpu_affinity auto`` does: left to the scheduler, the
two workers of `make bench-serve` would now and then share a core while the other ran
the load generator, and every request of theirs waited out the other's time slice (p99
5.6 ms against 3.8 ms pinned, same run). With more CPUs than workers the scheduler has
room to keep them apart, and pinning would put every copy of the server on one host
onto the same first CPUs.

A request gunicorn cannot parse (a bad request line, a header given twice, a line too
long) never reaches the application; gunicorn answers it with an HTML page. Here the
client gets gunicorn's status with ``{"error": ...}``, as from every other refusal.
"""
import json
import mmap
import os

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from .web import internal_error

FREE = -1  # a slot no running worker holds
RECHECK = 0.01  # seconds: how soon a worker that holds back asks the ledger again


class Ledger:
    """Connections held by each worker, one slot per worker, in memory shared across fork.

    Slots are handed out by the master, in gunicorn's ``pre_fork`` hook (``claim``), and
    given back in its ``child_exit`` hook (``release``), so a worker that dies never
    leaves a count behind that would keep the others from accepting. Every slot starts
    at 0, as a worker holding nothing: gunicorn forks its workers one after another, and
    the first up would otherwise take every early connection before the next was forked.
    """

    def __init__(self, workers, pin=False):
        self.pin = pin
        self.held = memoryview(mmap.mmap(-1, 8 * workers)).cast("q")
        self.taken = [False] * workers  # the master's own record of the slots handed out

    def claim(self, arbiter, worker):
        """Give ``worker`` the first slot not taken; None when there is none (it then
        always accepts, as gunicorn's own worker does)."""
        worker.slot = next((s for s, taken in enumerate(self.taken) if not taken), None)
        if worker.slot is not None:
            self.taken[worker.slot] = True
            self.held[worker.slot] = 0

    def release(self, arbiter, worker):
        if worker.slot is not None:
            self.taken[worker.slot] = False
            self.held[worker.slot] = FREE

    def may_accept(self, slot, held):
        """Record that ``slot`` holds ``held`` connections; True while no worker holds fewer."""
        if slot is None:
            return True
        self.held[slot] = held
        return held <= min(n for n in self.held if n != FREE)

    def cpus(self, slot, allowed):
        """The CPUs worker ``slot`` keeps to, of ``allowed`` (sorted): one, in turn, when
        pinning and the workers fill them all; else all of them."""
        if not self.pin or slot is None or not 1 < len(allowed) <= len(self.taken):
            return set(allowed)
        return {allowed[slot % len(allowed)]}

    def options(self):
        """gunicorn settings that run ``Worker`` over this ledger."""
        worker = type("Worker", (Worker,), {"ledger": self})
        return {"worker_class": worker, "pre_fork": self.claim, "child_exit": self.release}


class Worker(ThreadWorker):
    """ThreadWorker that listens for new connections only while ``ledger.may_accept``.

    gunicorn's loop re-enables accepting on every pass while it is off, so a worker that
    held back asks the ledger again after each event of its own, and at least every
    RECHECK seconds: its siblings may fill up meanwhile, with no event to wake it, while
    a new connection waits for someone to take it.
    """

    ledger = None

    def fair(self):
        return self.ledger.may_accept(self.slot, self.nr_conns)

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled and self.fair())

    def accept(self, listener):
        if self.fair():  # asked again: a sibling may have been forked since the last pass
            super().accept(listener)
        if not self.fair():
            super().set_accept_enabled(False)

    def wait_for_and_dispatch_events(self, timeout):
        super().wait_for_and_dispatch_events(timeout if self._accepting
                                             else min(timeout, RECHECK))

    def init_process(self):
        # before gunicorn starts its threads, which inherit the calling thread's CPUs
        os.sched_setaffinity(0, self.ledger.cpus(self.slot, sorted(os.sched_getaffinity(0))))
        super().init_process()

    def notify(self):
        # once per pass of the loop: connections closed since the last pass count here
        self.fair()
        super().notify()

    def handle_error(self, req, client, addr, exc):
        # gunicorn picks the status, logs and counts the request; the client gets JSON
        page = _Page()
        super().handle_error(req, page, addr, exc)
        status = page.sent.split(b"\r\n", 1)[0].split(b" ", 1)[1]  # b"414 URI Too Long"
        message = (f"malformed HTTP request: {exc}" if status < b"500"
                   else internal_error(exc))
        body = json.dumps({"error": message}).encode()
        head = (b"HTTP/1.1 %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (status, len(body)))
        try:
            util.write_nonblock(client, head + body)  # as gunicorn writes its own page
        except OSError:
            pass  # the client has gone: nothing to answer


class _Page:
    """Stands for the client's socket while gunicorn writes its HTML error page."""

    def __init__(self):
        self.sent = b""

    def gettimeout(self):
        return 0.0  # already non-blocking, as far as gunicorn's writer is concerned

    def sendall(self, data):
        self.sent += data
