"""Power and energy per inference.

A PowerMonitor records a power trace (time, watts) from one of:
- "pmbus": the board's rails through `pynq.get_rails()` and `pynq.DataRecorder` (ZCU104, Ultra96-V2,
  KV260). The board file (boards/<board>.yaml, `power`) names the rails, as get_rails() returns them on
  that board, whose sum is the PL power (`pl`: VCCINT) and the board power (`board`), and the sensors'
  resolution (`resolution_w`);
- "external": a meter outside the board (PYNQ-Z2 has no sensors): a CSV log with time (Unix
  seconds) and watts columns written while the test runs, or a callable that returns watts now;
- "sim": the simulated board's synthetic trace, labelled SIMULATED in every result, title and line;
- "none": no measurement; measure_energy says how to get one.

`measure_energy(overlay, images, n)` records an idle window, then a window in which n images are
classified, and returns idle power, active power and energy per inference
E = (P_active - P_idle) * T / N for the board power and for the PL rails, with the number of samples,
the windows, the trace, the sensors' resolution and whether P_active - P_idle is above it.

One clock: every sample and every window boundary is Unix time (time.time()). PYNQ's DataRecorder
stamps its rows with `pd.Timestamp.now()` (pynq/pmbus.py, `DataRecorder._thread_func`): local wall time
without a zone. The recording measures the local UTC offset when it starts and converts the frame's
index to Unix time with it, so a board whose clock is not on UTC still lands its samples in the windows.
"""

import csv
import datetime
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.runtime.board import import_pynq
from fixyfpga.runtime.results import save_json
from fixyfpga.runtime.sim import SyntheticPowerTrace

SOURCES = ("pmbus", "external", "sim", "none")
SIMULATED_LABEL = "SIMULATED"


@dataclass
class PowerTrace:
    times: np.ndarray           # Unix seconds
    watts: np.ndarray           # board power per sample
    source: str
    simulated: bool = False
    rails: dict = field(default_factory=dict)   # rail -> watts per sample (pmbus, sim)
    pl: np.ndarray = None       # PL power per sample (the board file's pl rails), None when not measured

    def select(self, t0, t1):
        return (self.times >= t0) & (self.times <= t1)

    def window(self, t0, t1):
        return self.watts[self.select(t0, t1)]

    def pl_window(self, t0, t1):
        return None if self.pl is None else self.pl[self.select(t0, t1)]


def observed_step(values):
    """Smallest non-zero difference between two readings (the quantum a sensor actually shows), or 0."""
    v = np.unique(np.round(np.asarray(values, dtype=np.float64), 9))
    if v.size < 2:
        return 0.0
    return float(np.min(np.diff(v)))


def local_utc_offset_s(now=None):
    """Seconds to subtract from a naive local timestamp (read as if UTC) to get Unix time: what
    `pd.Timestamp.now()` in PYNQ's DataRecorder is off by."""
    now = time.time() if now is None else now
    naive = datetime.datetime.fromtimestamp(now)          # local wall time, no zone, as pd.Timestamp.now()
    return naive.replace(tzinfo=datetime.timezone.utc).timestamp() - now


@dataclass
class EnergyResult:
    idle_w: float
    active_w: float
    energy_per_inference_j: float
    n_inferences: int
    window_s: float
    idle_window_s: float
    samples_idle: int
    samples_active: int
    source: str
    simulated: bool
    board: str
    label: str
    rails: list = field(default_factory=list)         # every rail recorded
    board_rails: list = field(default_factory=list)   # summed into idle_w / active_w
    pl_rails: list = field(default_factory=list)      # summed into pl_idle_w / pl_active_w
    pl_idle_w: float = None
    pl_active_w: float = None
    pl_energy_per_inference_j: float = None           # None when the board has no PL-only rail
    resolution_w: float = 0.0       # the sensors' stated resolution (board file)
    observed_step_w: float = 0.0    # the smallest step between idle readings (0: they did not change)
    resolved: bool = True           # P_active - P_idle above the resolution (board and, if measured, PL)
    interval_s: float = 0.0         # sampling interval
    note: str = ""
    trace_t: list = field(default_factory=list)      # seconds from the start of the recording
    trace_w: list = field(default_factory=list)
    trace_pl_w: list = field(default_factory=list)
    phases: dict = field(default_factory=dict)       # idle / active: [start, end] in trace seconds
    plot_path: str = ""

    @property
    def dynamic_w(self):
        return self.active_w - self.idle_w

    @property
    def pl_dynamic_w(self):
        return None if self.pl_active_w is None else self.pl_active_w - self.pl_idle_w

    @property
    def energy_per_inference_mj(self):
        return self.energy_per_inference_j * 1e3

    @property
    def inferences_per_s(self):
        return self.n_inferences / self.window_s if self.window_s else float("nan")

    def to_dict(self):
        d = asdict(self)
        d["energy_per_inference_mj"] = self.energy_per_inference_mj
        d["dynamic_w"] = self.dynamic_w
        d["pl_dynamic_w"] = self.pl_dynamic_w
        return d

    def save(self, path):
        return save_json(self, path)

    def __str__(self):
        head = f"[{SIMULATED_LABEL}: synthetic power trace, not a measurement] " if self.simulated else ""
        text = (f"{head}{self._where()}: board power ({'+'.join(self.board_rails) or self.source}) idle "
                f"{self.idle_w:.3f} W ({self.samples_idle} samples over {self.idle_window_s:.2f} s), active "
                f"{self.active_w:.3f} W ({self.samples_active} samples over {self.window_s:.2f} s, "
                f"{self.n_inferences} inferences, {self.inferences_per_s:,.1f}/s): "
                f"{self.energy_per_inference_mj:.4f} mJ per inference")
        if self.pl_energy_per_inference_j is not None:
            text += (f"; PL ({'+'.join(self.pl_rails)}) idle {self.pl_idle_w:.3f} W, active {self.pl_active_w:.3f} W: "
                     f"{self.pl_energy_per_inference_j * 1e3:.4f} mJ per inference")
        else:
            text += "; PL energy not measured (no PL-only rail on this source)"
        res = f"{self.resolution_w:g} W" if self.resolution_w else "not stated"
        text += (f"; sensor resolution {res} (smallest step between idle readings {self.observed_step_w:g} W), one sample per "
                 f"{self.interval_s:g} s")
        if self.note:
            text += f". {self.note}"
        return text

    def _where(self):
        board = self.board or "board"
        return f"{board} ({SIMULATED_LABEL} board)" if self.simulated else board

    def plot(self, path=None, title=None):
        """The power trace with the idle and active windows; saved as PNG to `path` if given. Returns
        the matplotlib Figure (made without pyplot, so it works headless)."""
        from matplotlib.figure import Figure
        fig = Figure(figsize=(8, 3.6), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(self.trace_t, self.trace_w, lw=0.8, color="tab:blue", label="board power")
        if self.trace_pl_w:
            ax.plot(self.trace_t, self.trace_pl_w, lw=0.8, color="tab:purple", label=f"PL ({'+'.join(self.pl_rails)})")
        colors = {"idle": "tab:gray", "active": "tab:orange"}
        means = {"idle": self.idle_w, "active": self.active_w}
        for phase, (t0, t1) in self.phases.items():
            ax.axvspan(t0, t1, color=colors.get(phase, "tab:green"), alpha=0.15)
            ax.hlines(means.get(phase, np.nan), t0, t1, colors=colors.get(phase, "k"), linestyles="--",
                      label=f"{phase} mean {means.get(phase, np.nan):.3f} W")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("power (W)")
        default = (f"{self._where()}: {self.energy_per_inference_mj:.4f} mJ/inference "
                   f"({self.source}, {self.n_inferences} inferences)")
        if self.simulated:
            default = f"{SIMULATED_LABEL} power trace - {default}"
            ax.text(0.5, 0.5, SIMULATED_LABEL, transform=ax.transAxes, fontsize=40, color="red", alpha=0.15,
                    ha="center", va="center", rotation=15)
        ax.set_title(title or default, fontsize=9)
        ax.legend(loc="upper left", fontsize=7)
        fig.tight_layout()
        if path:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path)
            self.plot_path = str(path)
        return fig


class _Sampler:
    """Calls `read()` every `interval` seconds on a thread; errors are raised at stop()."""

    def __init__(self, read, interval):
        self.read = read
        self.interval = interval
        self.times, self.watts = [], []        # watts: a float or a {rail: watts} dict per sample
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fixy-power-sampler", daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t = time.time()
            try:
                w = self.read()
                w = {k: float(v) for k, v in w.items()} if isinstance(w, dict) else float(w)
            except Exception as exc:   # reported in stop(), the thread must end cleanly
                self.error = exc
                return
            self.times.append(t)
            self.watts.append(w)
            self._stop.wait(self.interval)

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout=5.0):
        self._stop.set()
        self._thread.join(timeout)
        if self.error is not None:
            raise FixyError(f"the power meter callable failed: {type(self.error).__name__}: {self.error}")


class Recording:
    """A running recording; `stop()` returns the PowerTrace."""

    def __init__(self, monitor):
        self.monitor = monitor
        self.trace = None
        self._sampler = None
        self._recorder = None
        self._sensors = []
        self.t_start = time.time()
        self.utc_offset_s = local_utc_offset_s(self.t_start)     # the DataRecorder's local clock vs Unix time
        src = monitor.source
        if src in ("sim", "external") and callable(monitor.meter):
            self._sampler = _Sampler(monitor.meter, monitor.interval).start()
        elif src == "pmbus":
            pynq = monitor._pynq()
            self._sensors = monitor._pmbus_sensors(pynq)
            self._recorder = pynq.DataRecorder(*[s for _, s in self._sensors])
            self._recorder.record(monitor.interval)

    def stop(self):
        t_end = time.time()
        m = self.monitor
        if self._sampler is not None:
            self._sampler.stop()
            self.trace = _trace_from_samples(self._sampler.times, self._sampler.watts, m)
        elif self._recorder is not None:
            self._recorder.stop()
            self.trace = _trace_from_frame(self._recorder.frame, self._sensors, m, self.utc_offset_s)
        elif m.source == "external":
            self.trace = read_meter_csv(m.meter, m.csv_columns, m.clock_offset_s, self.t_start - 1.0, t_end + 1.0)
        else:
            self.trace = PowerTrace(np.zeros(0), np.zeros(0), m.source)
        return self.trace

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _sums(rails, names, n):
    return np.sum([rails[r] for r in names], axis=0) if names else np.zeros(n)


def _trace_from_samples(times, samples, monitor):
    """PowerTrace from a sampler: each sample is the board watts, or {rail: watts} for monitor.rails."""
    times = np.asarray(times, dtype=np.float64)
    if samples and isinstance(samples[0], dict):
        rails = {r: np.asarray([s[r] for s in samples], dtype=np.float64) for r in samples[0]}
        board = _sums(rails, monitor.board_rails or list(rails), len(times))
        pl = _sums(rails, monitor.pl_rails, len(times)) if monitor.pl_rails else None
        return PowerTrace(times, board, monitor.source, simulated=monitor.simulated, rails=rails, pl=pl)
    return PowerTrace(times, np.asarray(samples, dtype=np.float64), monitor.source, simulated=monitor.simulated)


def frame_times(index, utc_offset_s):
    """Unix seconds of a DataRecorder frame index. PYNQ stamps rows with pd.Timestamp.now(): local wall
    time without a zone, whose int64 nanoseconds read the local time as if it were UTC; a zone-aware
    index is already UTC."""
    if hasattr(index, "asi8"):
        ns = np.asarray(index.asi8, dtype=np.float64)
    else:
        ns = np.asarray(index).astype("datetime64[ns]").astype(np.int64).astype(np.float64)
    aware = getattr(index, "tz", None) is not None
    return ns / 1e9 - (0.0 if aware else utc_offset_s)


def _trace_from_frame(frame, sensors, monitor, utc_offset_s):
    """PowerTrace from a pynq DataRecorder frame (index: timestamps, one column per sensor)."""
    times = frame_times(frame.index, utc_offset_s)
    rails = {}
    for rail, sensor in sensors:
        col = getattr(sensor, "name", f"{rail}_power")
        if col not in frame.columns:
            raise FixyError(f"DataRecorder frame has no column '{col}' (columns: {', '.join(map(str, frame.columns))})")
        rails[rail] = np.asarray(frame[col], dtype=np.float64)
    board = _sums(rails, monitor.board_rails, len(times))
    pl = _sums(rails, monitor.pl_rails, len(times)) if monitor.pl_rails else None
    return PowerTrace(times, np.asarray(board, dtype=np.float64), monitor.source, rails=rails, pl=pl)


def read_meter_csv(path, columns=("time", "watts"), clock_offset_s=0.0, t0=None, t1=None):
    """PowerTrace from an external meter's CSV log: a header row naming the time (Unix seconds) and
    watts columns; rows outside [t0, t1] (after adding clock_offset_s) are dropped."""
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"power meter log {path} does not exist; start the meter's logging before measuring")
    tcol, wcol = columns
    times, watts = [], []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or tcol not in reader.fieldnames or wcol not in reader.fieldnames:
            raise FixyError(f"{path}: needs a header with '{tcol}' and '{wcol}' columns, has "
                            f"{', '.join(reader.fieldnames or []) or 'none'}; pass csv_columns=(time, watts names)")
        for i, row in enumerate(reader, start=2):
            try:
                t, w = float(row[tcol]) + clock_offset_s, float(row[wcol])
            except (TypeError, ValueError):
                raise FixyError(f"{path}:{i}: '{row.get(tcol)}', '{row.get(wcol)}' are not numbers") from None
            if (t0 is None or t >= t0) and (t1 is None or t <= t1):
                times.append(t)
                watts.append(w)
    return PowerTrace(np.asarray(times), np.asarray(watts), "external")


class PowerMonitor:
    """Records board power (and PL power where a rail gives it) from one source (see the module
    docstring). For "pmbus", `board_rails` are summed into the board power and `pl_rails` into the PL
    power, by their pynq.get_rails() names; `resolution_w` is the sensors' power step."""

    def __init__(self, source="none", board=None, board_rails=None, pl_rails=None, meter=None, interval=None,
                 csv_columns=("time", "watts"), clock_offset_s=0.0, device=None, resolution_w=0.0, names_from=""):
        if source not in SOURCES:
            raise FixyError(f"power source must be one of {', '.join(SOURCES)}, not {source!r}")
        self.source = source
        self.board = board
        self.board_rails = list(board_rails or [])
        self.pl_rails = list(pl_rails or [])
        self.names_from = names_from
        self.resolution_w = float(resolution_w or 0.0)
        self.meter = meter
        self.csv_columns = tuple(csv_columns)
        self.clock_offset_s = float(clock_offset_s)
        self.interval = float(interval if interval is not None else (0.05 if source == "pmbus" else 0.005))
        if source == "pmbus" and not self.board_rails:
            raise FixyError("PMBus power needs the board rails: give board_rails=[...] (names as pynq.get_rails() "
                            "returns them) or use PowerMonitor.for_board(name), which takes them from "
                            "boards/<board>.yaml (power.board, power.pl)")
        if source == "external":
            if meter is None:
                raise FixyError("an external power source needs meter=: a CSV log path (time, watts columns) or a "
                                "callable returning watts")
            if not callable(meter):
                self.meter = Path(meter)
        if source == "sim":
            if meter is None:
                        self.meter = SyntheticPowerTrace(device)
            self.board_rails = self.board_rails or list(getattr(self.meter, "board_rails", []))
            self.pl_rails = self.pl_rails or list(getattr(self.meter, "pl_rails", []))
        self.simulated = source == "sim"

    @property
    def rails(self):
        """Every rail recorded (PL rails first)."""
        return list(dict.fromkeys([*self.pl_rails, *self.board_rails]))

    @classmethod
    def for_board(cls, board, meter=None, **kwargs):
        """The source the board file names: PMBus rails (power.board, power.pl), or an external meter.
        `board` is a board name (boards/<board>.yaml), a Board, or a dict {"name", "source", "board", "pl",
        "resolution_w", "names_from"} (the overlay JSON's power section)."""
        if isinstance(board, str):
            from fixyfpga.boards import load_board   # host only (boards/*.yaml); the board passes the overlay JSON
            board = load_board(board)
        if isinstance(board, dict):
            name, src = board.get("name", ""), board.get("source", "none")
            board_rails = list(board.get("board") or board.get("total") or [])
            pl_rails, res = list(board.get("pl") or []), float(board.get("resolution_w") or 0.0)
            names_from = str(board.get("names_from", ""))
        else:
            name, src = board.name, board.power.source
            board_rails, pl_rails = list(board.power.board), list(board.power.pl)
            res, names_from = board.power.resolution_w, board.power.names_from
        if meter is not None:
            src = "external"            # a meter given explicitly wins over the board's sensors
        elif src == "external":
            src = "none"                # the board needs a meter and none was given
        if src != "pmbus":
            return cls(src, board=name, meter=meter, **kwargs)
        kwargs.setdefault("resolution_w", res)
        return cls(src, board=name, board_rails=board_rails, pl_rails=pl_rails, names_from=names_from, **kwargs)

    @classmethod
    def for_overlay(cls, overlay, meter=None, **kwargs):
        """The simulated source on the simulated board; on the board, its board file's source (or the
        overlay JSON's `power` section where the kit's boards/ folder is not installed)."""
        spec = overlay.spec
        if overlay.simulated:
            return cls("sim", board=spec.board, device=overlay.device, **kwargs)
        try:
            return cls.for_board(spec.board, meter=meter, **kwargs)
        except FixyError:
            if spec.power:
                return cls.for_board({"name": spec.board, **spec.power}, meter=meter, **kwargs)
            if meter is not None:
                return cls("external", board=spec.board, meter=meter, **kwargs)
            return cls("none", board=spec.board)

    @property
    def label(self):
        return SIMULATED_LABEL if self.simulated else (self.board or "board")

    def _pynq(self):
        return import_pynq()

    def _pmbus_sensors(self, pynq):
        rails = pynq.get_rails()
        missing = [r for r in self.rails if r not in rails]
        if missing:
            where = f" (names from {self.names_from})" if self.names_from else ""
            raise FixyError(f"PMBus rail(s) {', '.join(missing)} not found on this board{where}; pynq.get_rails() "
                            f"lists {', '.join(sorted(rails)) or 'none'}; fix power.board/power.pl in "
                            f"boards/{self.board}.yaml")
        sensors = []
        for r in self.rails:
            sensor = getattr(rails[r], "power", None)
            if sensor is None:
                raise FixyError(f"PMBus rail {r} has no power sensor; list rails with power readings in "
                                f"boards/{self.board}.yaml")
            sensors.append((r, sensor))
        return sensors

    def record(self):
        """Start recording; use as `with monitor.record() as rec: ...` then `rec.trace`."""
        if self.source == "none":
            raise FixyError(self._no_source_message())
        return Recording(self)

    def _no_source_message(self):
        return (f"no power source for {self.board or 'this board'}: boards with PMBus rails (ZCU104, Ultra96-V2, "
                f"KV260) use PowerMonitor.for_board(name); PYNQ-Z2 has no sensors, so log an external meter: "
                f"PowerMonitor('external', meter='meter.csv' or a callable returning watts)")

    def read_now(self, samples=5):
        """Mean board power over a few readings (watts), for a quick look."""
        with self.record() as rec:
            time.sleep(self.interval * samples)
        return float(np.mean(rec.trace.watts)) if len(rec.trace.watts) else float("nan")

    def window_for(self, min_samples):
        """Seconds a window needs for `min_samples` readings at this monitor's interval (plus one)."""
        return (min_samples + 1) * self.interval

    def measure_energy(self, overlay, images, n=1000, batch_size=256, idle_s=None, settle_s=0.0, min_samples=20,
                       window_s=None, plot=None, json_path=None):
        """Idle power, then active power while classifying at least `n` images (cycling `images`) in batches
        of `batch_size`; energy per inference = (P_active - P_idle) * T / N for the board power and for the
        PL rails. The active window lasts at least `window_s` (default: `min_samples` readings at this
        monitor's interval): whole batches run until both n images and the window are reached, and N counts
        them. The idle window lasts as long
        as the active one unless `idle_s` is given. The result states the sensors' resolution and whether
        P_active - P_idle is above it. Saves the plot / JSON when paths are given."""
        if self.source == "none":
            raise FixyError(self._no_source_message())
        if n < 1:
            raise FixyError(f"measure_energy needs n >= 1, got {n}")
        flat = overlay._check_images(images)
        shape = tuple(overlay.spec.streams.in_shape)
        window_s = float(window_s) if window_s is not None else self.window_for(min_samples)
        batch_size = max(1, int(batch_size))
        warm = min(n, batch_size)
        overlay.predict_raw(np.resize(flat, (warm, flat.shape[1])).reshape((warm,) + shape), batch_size)  # warm-up
        chunk = np.resize(flat, (max(batch_size, 1), flat.shape[1])).reshape((-1,) + shape)
        idle_s = window_s if idle_s is None else float(idle_s)
        rec = self.record()
        try:
            t_idle0 = time.time()
            time.sleep(idle_s)
            t_idle1 = time.time()
            if settle_s:
                time.sleep(settle_s)
            t_act0 = time.time()
            done = 0              # whole batches until both n images and the window are reached
            while done < n or time.time() - t_act0 < window_s:
                take = min(batch_size, n - done) if done < n else batch_size
                overlay.predict_raw(chunk[:take], batch_size)
                done += take
            t_act1 = time.time()
            n = done
            time.sleep(max(self.interval, 0.01))     # let the last active sample land
        finally:
            trace = rec.stop()
        idle = trace.window(t_idle0, t_idle1)
        active = trace.window(t_act0, t_act1)
        need = min(min_samples, 5)
        if len(idle) < need or len(active) < need:
            raise FixyError(f"too few power samples ({len(idle)} idle, {len(active)} active; {need} needed): the "
                            f"active window lasted {t_act1 - t_act0:.3f} s at one sample per {self.interval:g} s, "
                            f"and no sample of the trace fell in it; check that the sensors are read (interval) "
                            f"and classify longer (window_s)")
        p_idle, p_act = float(np.mean(idle)), float(np.mean(active))
        window = t_act1 - t_act0
        pl_idle = pl_act = pl_energy = None
        if trace.pl is not None:
            pl_idle = float(np.mean(trace.pl_window(t_idle0, t_idle1)))
            pl_act = float(np.mean(trace.pl_window(t_act0, t_act1)))
            pl_energy = (pl_act - pl_idle) * window / n
        # The quantum the readings show while nothing changes (the idle window), per summed trace.
        steps = [observed_step(idle)] + ([observed_step(trace.pl_window(t_idle0, t_idle1))] if pl_idle is not None
                                         else [])
        step = min([x for x in steps if x > 0], default=0.0)
        resolution = self.resolution_w or step
        deltas = [p_act - p_idle] + ([pl_act - pl_idle] if pl_act is not None else [])
        resolved = resolution == 0.0 or all(abs(d) > resolution for d in deltas)
        note = ""
        if not resolved:
            note = (f"P_active - P_idle ({', '.join(f'{d:.4f}' for d in deltas)} W) is not above the sensors' "
                    f"resolution ({resolution:g} W): the energy per inference is not resolved by this "
                    f"measurement; the design's dynamic power is too small for these sensors at this load")
        t0 = trace.times[0] if len(trace.times) else t_idle0
        result = EnergyResult(
            idle_w=p_idle, active_w=p_act, energy_per_inference_j=(p_act - p_idle) * window / n, n_inferences=int(n),
            window_s=window, idle_window_s=t_idle1 - t_idle0, samples_idle=int(len(idle)),
            samples_active=int(len(active)), source=self.source, simulated=self.simulated or overlay.simulated,
            board=overlay.spec.board, label=SIMULATED_LABEL if (self.simulated or overlay.simulated) else self.label,
            rails=self.rails, board_rails=list(self.board_rails), pl_rails=list(self.pl_rails),
            pl_idle_w=pl_idle, pl_active_w=pl_act, pl_energy_per_inference_j=pl_energy,
            resolution_w=self.resolution_w, observed_step_w=step, resolved=resolved, interval_s=self.interval,
            note=note, trace_t=[float(t - t0) for t in trace.times], trace_w=[float(w) for w in trace.watts],
            trace_pl_w=[] if trace.pl is None else [float(w) for w in trace.pl],
            phases={"idle": [t_idle0 - t0, t_idle1 - t0], "active": [t_act0 - t0, t_act1 - t0]})
        if math.isnan(result.energy_per_inference_j):
            raise FixyError("the power readings are not numbers; check the meter")
        if plot:
            result.plot(plot)
        if json_path:
            result.save(json_path)
        return result
