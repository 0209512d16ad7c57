"""Decisions the build side takes about Vivado's reports (the readers live in fixyfpga.amd): the switching
activity the power report rests on, and the user's warning when timing is not met."""


def timing_warning(timing, board_name):
    """The user's warning when timing is not met, or None."""
    if timing.get("met"):
        return None
    return (f"timing not met on {board_name}: WNS {timing.get('wns_ns')} ns, WHS {timing.get('whs_ns')} ns at "
            f"{timing.get('target_mhz')} MHz (the design reaches ~{timing.get('achieved_mhz')} MHz); the bitstream "
            f"may misbehave: lower clock_mhz in boards/{board_name}.yaml or raise the engine's reuse factors")


# The switching activity the kit's script sets before report_power: Vivado's own defaults, written out so the
# report says what it rests on. UG835 set_switching_activity: "-default_toggle_rate ... on the primary inputs
# of the design ... The default value is 12.5"; UG907 "Netlist Element Activity" gives the same command with
# -default_static_probability 0.5. Every other net's activity comes from Vivado's vectorless propagation
# engine (UG907 "Running Power Analysis from the Tcl Prompt": "For all undefined nodes, the tool uses the
# vectorless propagation engine to estimate activity").
POWER_ACTIVITY = {
    "default_toggle_rate_pct": 12.5,
    "default_static_probability": 0.5,
    "method": "vectorless: primary inputs at the default toggle rate and static probability, every other net "
              "propagated by Vivado's vectorless engine; no simulation activity (SAIF) is read",
    "source": "AMD UG835 set_switching_activity (-default_toggle_rate default 12.5); UG907 'Netlist Element "
              "Activity' and 'Running Power Analysis from the Tcl Prompt'",
}
