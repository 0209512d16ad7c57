"""A small task scheduler for `make rtl`: tasks with dependencies run on `jobs` slots, the task on the
longest remaining chain first.

Every task is one unit of CPU work (a da4ml candidate solve, a proof, a simulation, a synthesis). A slot is
a thread; a task's heavy work is a child process (Yosys, Icarus, a solver worker), so `jobs` slots keep
`jobs` cores busy. The priority of a task is its estimated cost plus the largest priority among the
tasks that wait for it (its "bottom level"), so the chain that decides the wall time - on a big layer:
solve, then synthesis - starts first and smaller layers fill the gaps.

A task may also wait on a condition of its own (`ready`), asked again whenever a task finishes: `make
rtl` starts synthesizing the cheapest circuit found so far when one candidate solve is still running.

A failing task stops the run: no further task starts, the running ones finish, and the first error is
raised with its own message.
"""

import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from fixyfpga.errors import FixyError


@dataclass(eq=False)
class Task:
    name: str                          # unique, e.g. "conv2 synth da"
    fn: object                         # callable with no arguments
    deps: tuple = ()                   # Tasks that must finish first
    cost: float = 1.0                  # estimated seconds (only the order depends on it)
    ready: object = None               # optional callable: may the task start (its deps done)? Asked again
                                       # after every task that finishes
    seconds: float = field(default=None, init=False)   # measured, once run


def priorities(tasks):
    """{task: bottom level}: its cost plus the largest bottom level of the tasks depending on it."""
    users = {t: [] for t in tasks}
    for t in tasks:
        for d in t.deps:
            if d not in users:
                raise FixyError(f"rtl: task '{t.name}' depends on '{d.name}', which is not scheduled")
            users[d].append(t)
    level = {}

    def bottom(t, seen=()):
        if t in seen:
            raise FixyError(f"rtl: the tasks depend on each other in a cycle through '{t.name}'")
        if t not in level:
            level[t] = t.cost + max((bottom(u, seen + (t,)) for u in users[t]), default=0.0)
        return level[t]
    for t in tasks:
        bottom(t)
    return level


def run(tasks, jobs=2, on_done=None):
    """Run every task, at most `jobs` at once, each only after its deps; on_done(task) is called after
    each one (from the calling thread). Returns the tasks in the order they finished."""
    tasks = list(tasks)
    if not tasks:
        return []
    level = priorities(tasks)
    waiting = set(tasks)
    finished, order = set(), []
    lock = threading.Lock()

    def timed(task):
        t0 = time.perf_counter()
        try:
            return task.fn()
        finally:
            with lock:
                task.seconds = time.perf_counter() - t0

    error = None
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        running = {}
        while waiting or running:
            if error is None:
                ready = sorted((t for t in waiting if all(d in finished for d in t.deps)
                                and (t.ready is None or t.ready())), key=lambda t: -level[t])
                for task in ready[:max(1, jobs) - len(running)]:
                    waiting.discard(task)
                    running[pool.submit(timed, task)] = task
            elif not running:
                break
            if not running:
                raise FixyError("rtl: no task can start (a dependency never finished)")
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                task = running.pop(fut)
                exc = fut.exception()
                if exc is not None:
                    error = error or exc
                    continue
                finished.add(task)
                order.append(task)
                if on_done is not None:
                    on_done(task)
    if error is not None:
        raise error
    return order
