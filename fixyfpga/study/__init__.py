"""The FixyNN-vs-programmable-engine study: cycle model, resources, area metrics, energy at two scopes,
the baseline at its best, comparison and cut x budget sweep. Each module has one job:

- cycles.py        cycles per image per layer and for the whole design (hls4ml io_stream), throughput, latency
- resources.py     LUT/FF/DSP/BRAM per variant, each figure tagged yosys / estimate / vivado; the front-end's
                   Yosys counts only for the strategy it is built with
- area.py          what "the same area" means: silicon area (published tile areas), chip share, DSP, LUT count
- energy.py        PL power model (ESTIMATE) or Vivado report_power / board measurement; energy per inference
- power_fit.py     the power model's coefficients (and the PS power) from public report_power reports
- board_energy.py  board-level energy: the PS's report_power row, the host's per-batch work, the batch
- baseline.py      the same model as one programmable engine at its best, sized at an area
- compare.py       `make compare`: both variants on one board at the same area under every metric, summary.json
- sweep.py         every legal cut x engine DSP budget against the baseline, locally or on a Dask cluster
- tables.py        how results read: ratio sentences, markdown, plots, the README's headline table
- paths.py         where the study writes (the build folder; results/ only through `make results`)
- results.py       `make results`: regenerate everything committed about the comparison
"""
