"""The task scheduler `make rtl` runs its layers' work on: dependencies, the longest chain first, a
failure stopping the run with its own error."""

import threading
import time

import pytest

from fixyfpga.errors import FixyError
from fixyfpga.rtl.schedule import Task, priorities, run


def recorder():
    log, lock = [], threading.Lock()

    def step(name, seconds=0.0, fail=False):
        def fn():
            with lock:
                log.append(("start", name))
            time.sleep(seconds)
            if fail:
                raise FixyError(f"{name} failed")
            with lock:
                log.append(("end", name))
        return fn
    return log, step


def test_the_longest_chain_starts_first_and_dependencies_wait():
    log, step = recorder()
    small = Task("small", step("small"), cost=5)
    solve = Task("solve", step("solve"), cost=2)
    synth = Task("synth", step("synth"), (solve,), cost=10)
    sim = Task("sim", step("sim"), (solve,), cost=1)
    assert priorities([small, solve, synth, sim]) == {small: 5, solve: 12, synth: 10, sim: 1}
    order = run([small, solve, synth, sim], jobs=1)
    assert [t.name for t in order] == ["solve", "synth", "small", "sim"]
    assert all(t.seconds is not None for t in order)


def test_at_most_jobs_tasks_run_at_once():
    running, peak, lock = [0], [0], threading.Lock()

    def fn():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
    run([Task(f"t{i}", fn) for i in range(6)], jobs=2)
    assert peak[0] == 2


def test_a_failure_stops_the_run_with_its_own_error():
    log, step = recorder()
    bad = Task("bad", step("bad", fail=True), cost=10)
    after = Task("after", step("after"), (bad,))
    other = Task("other", step("other"), cost=1)
    with pytest.raises(FixyError, match="^bad failed$"):
        run([bad, after, other], jobs=1)
    assert ("start", "after") not in log and ("start", "other") not in log


def test_unscheduled_dependencies_and_cycles_are_refused():
    a = Task("a", lambda: None)
    with pytest.raises(FixyError, match="depends on 'a', which is not scheduled"):
        run([Task("b", lambda: None, (a,))])
    c = Task("c", lambda: None)
    d = Task("d", lambda: None, (c,))
    c.deps = (d,)
    with pytest.raises(FixyError, match="cycle"):
        run([c, d])


def test_a_task_can_wait_on_a_condition_besides_its_dependencies():
    log, step = recorder()
    a, b = Task("a", step("a"), cost=3), Task("b", step("b"), cost=2)
    half = Task("half", step("half"), cost=10, ready=lambda: ("end", "a") in log or ("end", "b") in log)
    order = run([a, b, half], jobs=1)
    assert [t.name for t in order] == ["a", "half", "b"]
    never = Task("never", step("never"), ready=lambda: False)
    with pytest.raises(FixyError, match="no task can start"):
        run([never], jobs=1)
