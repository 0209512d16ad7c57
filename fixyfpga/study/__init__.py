"""The FixyNN-vs-programmable-engine study: cycle model, resources, energy model, baseline variant,
comparison and split x budget sweep. Each module has one job:

- cycles.py     cycles per image per layer and for the whole design (hls4ml io_stream), throughput, latency
- resources.py  LUT/FF/DSP/BRAM per variant, each figure tagged yosys / estimate / vivado
- energy.py     power model (ESTIMATE) or Vivado report_power / board measurement; energy per inference
- power_fit.py  the power model's coefficients refitted from public report_power reports (power_sources.json)
- baseline.py   the same model as one programmable engine, sized to the FixyNN design's resources
- compare.py    `make compare`: both variants on one board, summary.json, table, plot
- sweep.py      split point x engine DSP budget, locally in processes or on a Dask cluster
"""
