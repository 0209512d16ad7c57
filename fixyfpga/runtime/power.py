"""Power and energy per inference.

A PowerMonitor records a power trace (time, watts) from one of:
- "pmbus": the board's PMBus rails through `pynq.get_rails()` and `pynq.DataRecorder` (ZCU104,
  Ultra96-V2, KV260); the rails summed are the board file's `power.total` (boards/<board>.yaml);
- "external": a meter outside the board (PYNQ-Z2 has no sensors): a CSV log with time (Unix
  seconds) and watts columns written while the test runs, or a callable that returns watts now;
- "sim": the simulated board's synthetic trace, labelled SIMULATED in every result, title and line;
- "none": no measurement; measure_energy says how to get one.

`measure_energy(overlay, images, n)` records an idle window, then a window in which n images are
classified, and returns idle power, active power and energy per inference
E = (P_active - P_idle) * T / N, with the number of samples, the windows and the trace.
"""

import csv
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fixyfpga.errors import FixyError

SOURCES = ("pmbus", "external", "sim", "none")
SIMULATED_LABEL = "SIMULATED"


@dataclass
class PowerTrace:
    times: np.ndarray           # Unix seconds
    watts: np.ndarray
    source: str
    simulated: bool = False
    rails: dict = field(default_factory=dict)   # rail -> watts per sample (pmbus)

    def window(self, t0, t1):
        sel = (self.times >= t0) & (self.times <= t1)
        return self.watts[sel]


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
    rails: list = field(default_factory=list)
    trace_t: list = field(default_factory=list)      # seconds from the start of the recording
    trace_w: list = field(default_factory=list)
    phases: dict = field(default_factory=dict)       # idle / active: [start, end] in trace seconds
    plot_path: str = ""

    @property
    def dynamic_w(self):
        return self.active_w - self.idle_w

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
        return d

    def save(self, path):
        from fixyfpga.runtime.overlay import save_json
        return save_json(self, path)

    def __str__(self):
        head = f"[{SIMULATED_LABEL}: synthetic power trace, not a measurement] " if self.simulated else ""
        return (f"{head}{self._where()}: idle {self.idle_w:.3f} W ({self.samples_idle} samples over "
                f"{self.idle_window_s:.2f} s), active {self.active_w:.3f} W ({self.samples_active} samples over "
                f"{self.window_s:.2f} s, {self.n_inferences} inferences, {self.inferences_per_s:,.1f}/s): "
                f"{self.energy_per_inference_mj:.4f} mJ per inference")

    def _where(self):
        board = self.board or "board"
        return f"{board} ({SIMULATED_LABEL} board)" if self.simulated else board

    def plot(self, path=None, title=None):
        """The power trace with the idle and active windows; saved as PNG to `path` if given. Returns
        the matplotlib Figure (made without pyplot, so it works headless)."""
        from matplotlib.figure import Figure
        fig = Figure(figsize=(8, 3.6), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(self.trace_t, self.trace_w, lw=0.8, color="tab:blue", label="power")
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
        self.times, self.watts = [], []
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fixy-power-sampler", daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t = time.time()
            try:
                w = float(self.read())
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
            self.trace = PowerTrace(np.asarray(self._sampler.times), np.asarray(self._sampler.watts), m.source,
                                    simulated=m.simulated)
        elif self._recorder is not None:
            self._recorder.stop()
            self.trace = _trace_from_frame(self._recorder.frame, self._sensors, m.source)
        elif m.source == "external":
            self.trace = read_meter_csv(m.meter, m.csv_columns, m.clock_offset_s, self.t_start - 1.0, t_end + 1.0)
        else:
            self.trace = PowerTrace(np.zeros(0), np.zeros(0), m.source)
        return self.trace

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _trace_from_frame(frame, sensors, source):
    """PowerTrace from a pynq DataRecorder frame (index: timestamps, one column per sensor)."""
    index = frame.index
    if hasattr(index, "asi8"):
        times = np.asarray(index.asi8, dtype=np.float64) / 1e9
    else:
        times = np.asarray(index, dtype=np.float64)
    rails = {}
    for rail, sensor in sensors:
        col = getattr(sensor, "name", f"{rail}_power")
        if col not in frame.columns:
            raise FixyError(f"DataRecorder frame has no column '{col}' (columns: {', '.join(map(str, frame.columns))})")
        rails[rail] = np.asarray(frame[col], dtype=np.float64)
    total = np.sum(list(rails.values()), axis=0) if rails else np.zeros(len(times))
    return PowerTrace(times, np.asarray(total, dtype=np.float64), source, rails=rails)


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
    """Records board power from one source (see the module docstring)."""

    def __init__(self, source="none", board=None, rails=None, meter=None, interval=None,
                 csv_columns=("time", "watts"), clock_offset_s=0.0, device=None):
        if source not in SOURCES:
            raise FixyError(f"power source must be one of {', '.join(SOURCES)}, not {source!r}")
        self.source = source
        self.board = board
        self.rails = list(rails or [])
        self.meter = meter
        self.csv_columns = tuple(csv_columns)
        self.clock_offset_s = float(clock_offset_s)
        self.interval = float(interval if interval is not None else (0.05 if source == "pmbus" else 0.005))
        if source == "pmbus" and not self.rails:
            raise FixyError("PMBus power needs rail names: give rails=[...] or use PowerMonitor.for_board(name), "
                            "which takes them from boards/<board>.yaml (power.total)")
        if source == "external":
            if meter is None:
                raise FixyError("an external power source needs meter=: a CSV log path (time, watts columns) or a "
                                "callable returning watts")
            if not callable(meter):
                self.meter = Path(meter)
        if source == "sim":
            if meter is None:
                from fixyfpga.runtime.sim import SyntheticPowerTrace
                self.meter = SyntheticPowerTrace(device)
        self.simulated = source == "sim"

    @classmethod
    def for_board(cls, board, meter=None, **kwargs):
        """The source the board file names: PMBus rails (power.total), or an external meter. `board` is a
        board name (boards/<board>.yaml), a Board, or a dict {"name", "source", "rails", "total"}."""
        if isinstance(board, str):
            from fixyfpga.boards import load_board
            board = load_board(board)
        if isinstance(board, dict):
            name, src = board.get("name", ""), board.get("source", "none")
            rails = list(board.get("total") or board.get("rails") or [])
        else:
            name, src = board.name, board.power.source
            rails = list(board.power.total or board.power.rails)
        if meter is not None:
            src = "external"            # a meter given explicitly wins over the board's sensors
        elif src == "external":
            src = "none"                # the board needs a meter and none was given
        return cls(src, board=name, rails=rails if src == "pmbus" else None, meter=meter, **kwargs)

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
        from fixyfpga.runtime.board import import_pynq
        return import_pynq()

    def _pmbus_sensors(self, pynq):
        rails = pynq.get_rails()
        missing = [r for r in self.rails if r not in rails]
        if missing:
            raise FixyError(f"PMBus rail(s) {', '.join(missing)} not found on this board; pynq.get_rails() lists "
                            f"{', '.join(sorted(rails)) or 'none'}; fix power.rails/total in boards/{self.board}.yaml")
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
        """Mean of a few readings (watts), for a quick look."""
        with self.record() as rec:
            time.sleep(self.interval * samples)
        return float(np.mean(rec.trace.watts)) if len(rec.trace.watts) else float("nan")

    def measure_energy(self, overlay, images, n=1000, batch_size=64, idle_s=1.0, settle_s=0.0, min_samples=5,
                       plot=None, json_path=None):
        """Idle power over `idle_s`, then active power while classifying `n` images (cycling `images`);
        energy per inference = (P_active - P_idle) * T / N. Saves the plot / JSON when paths are given."""
        if self.source == "none":
            raise FixyError(self._no_source_message())
        if n < 1:
            raise FixyError(f"measure_energy needs n >= 1, got {n}")
        flat = overlay._check_images(images)
        shape = tuple(overlay.spec.streams.in_shape)
        pool = np.resize(flat, (n, flat.shape[1])).reshape((n,) + shape)
        overlay.predict_raw(pool[:min(n, batch_size)], batch_size)         # warm-up, buffers allocated
        rec = self.record()
        try:
            t_idle0 = time.time()
            time.sleep(idle_s)
            t_idle1 = time.time()
            if settle_s:
                time.sleep(settle_s)
            t_act0 = time.time()
            overlay.predict_raw(pool, batch_size)
            t_act1 = time.time()
            time.sleep(max(self.interval, 0.01))     # let the last active sample land
        finally:
            trace = rec.stop()
        idle = trace.window(t_idle0, t_idle1)
        active = trace.window(t_act0, t_act1)
        if len(idle) < min_samples or len(active) < min_samples:
            raise FixyError(f"too few power samples ({len(idle)} idle, {len(active)} active; {min_samples} needed): "
                            f"the active window lasted {t_act1 - t_act0:.3f} s at one sample per "
                            f"{self.interval:g} s; classify more images (n) or sample faster (interval)")
        p_idle, p_act = float(np.mean(idle)), float(np.mean(active))
        window = t_act1 - t_act0
        t0 = trace.times[0] if len(trace.times) else t_idle0
        result = EnergyResult(
            idle_w=p_idle, active_w=p_act, energy_per_inference_j=(p_act - p_idle) * window / n, n_inferences=int(n),
            window_s=window, idle_window_s=t_idle1 - t_idle0, samples_idle=int(len(idle)),
            samples_active=int(len(active)), source=self.source, simulated=self.simulated or overlay.simulated,
            board=overlay.spec.board, label=SIMULATED_LABEL if (self.simulated or overlay.simulated) else self.label,
            rails=list(self.rails), trace_t=[float(t - t0) for t in trace.times],
            trace_w=[float(w) for w in trace.watts],
            phases={"idle": [t_idle0 - t0, t_idle1 - t0], "active": [t_act0 - t0, t_act1 - t0]})
        if math.isnan(result.energy_per_inference_j):
            raise FixyError("the power readings are not numbers; check the meter")
        if plot:
            result.plot(plot)
        if json_path:
            result.save(json_path)
        return result
