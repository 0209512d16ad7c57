"""fixyfpga on the board: load an overlay, switch tasks, classify, measure power and energy.

Importable with neither tensorflow nor pynq installed: the real board backend imports pynq when an
overlay is opened with backend="pynq" (the default); backend="sim" runs the same drivers over the
C-simulation libraries of the same design on a host.

    from fixyfpga.runtime import FixyOverlay, PowerMonitor, make_sim_overlay
    ov = FixyOverlay(make_sim_overlay("hls_projects/pynq-z2/default"), backend="sim")
    ov.load_task("tasks/cifar10.fixytask")
    print(ov.predict(images).labels[:5])
"""

from fixyfpga.errors import FixyError
from fixyfpga.runtime.notebook import Location, locate, test_images
from fixyfpga.runtime.overlay import FixyOverlay, Prediction, ThroughputResult
from fixyfpga.runtime.overlay_spec import OverlaySpec, read_overlay
from fixyfpga.runtime.power import EnergyResult, PowerMonitor, PowerTrace, read_meter_csv
from fixyfpga.runtime.results import save_json
from fixyfpga.runtime.sim import make_sim_overlay

__all__ = ["FixyError", "FixyOverlay", "Prediction", "ThroughputResult", "EnergyResult", "PowerMonitor", "PowerTrace",
           "OverlaySpec", "read_overlay", "read_meter_csv", "make_sim_overlay", "save_json", "test_images", "locate",
           "Location"]
