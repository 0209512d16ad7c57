"""Vivado `report_power` text reports written for the tests (the kit's own figures and names, no third-party
file). They follow the layout Vivado writes, as documented in UG907 ("Running Power Analysis from the Tcl
Prompt", report_power -file) and as seen in public routed reports found by code search: Vivado 2021.1 on a
Zynq-7000 (xc7z045, with PS7), Vivado 2024.1 on a Kintex UltraScale (xcku115), Vivado 2014.4 on a Zynq-7000
(xc7z020, the older summary without the budget rows), and Zynq UltraScale+ reports listing the processing
system as PS8. What each one exercises:

- ZYNQ7_2021: "Design Power Budget (W) | Unspecified*", "Power Budget Margin (W) | NA", '<0.001' cells,
  nested On-Chip Components, PS7, the Confidence Level table, By Hierarchy of the kit's block design.
- ZYNQMP_SAIF: PS8, "Thermal Margin (C) | 59.1 (5.0 W)", a simulation activity file, Medium confidence.
- OLD_2014: the older summary (no budget rows), "Design State : Routed", no hierarchy, no PS.
- HOT: "Total On-Chip Power (W) | 33.215 (Junction temp exceeded!)" and a synthesized design.
"""

ZYNQ7_2021 = """\
Copyright 1986-2021 Xilinx, Inc. All Rights Reserved.
--------------------------------------------------------------------------------------------------
| Tool Version     : Vivado v.2021.1 (lin64) Build 0000000 Mon Jan  1 00:00:00 MDT 2021
| Date             : Mon Jan  1 00:00:00 2024
| Host             : buildhost running 64-bit Ubuntu 20.04 LTS
| Command          : report_power -file reports/impl_power.rpt -xpe reports/impl_power.xpe -l 100
| Design           : fixy_bd_wrapper
| Device           : xc7z020clg400-1
| Design State     : routed
| Grade            : commercial
| Process          : typical
| Characterization : Production
--------------------------------------------------------------------------------------------------

Power Report

Table of Contents
-----------------
1. Summary
1.1 On-Chip Components
1.2 Power Supply Summary
1.3 Confidence Level
2. Settings
2.1 Environment
3. Detailed Reports
3.1 By Hierarchy

1. Summary
----------

+--------------------------+--------------+
| Total On-Chip Power (W)  | 1.612        |
| Design Power Budget (W)  | Unspecified* |
| Power Budget Margin (W)  | NA           |
| Dynamic (W)              | 1.471        |
| Device Static (W)        | 0.141        |
| Effective TJA (C/W)      | 11.5         |
| Max Ambient (C)          | 66.4         |
| Junction Temperature (C) | 43.6         |
| Confidence Level         | Low          |
| Setting File             | ---          |
| Simulation Activity File | ---          |
| Design Nets Matched      | NA           |
+--------------------------+--------------+
* Specify Design Power Budget using, set_operating_conditions -design_power_budget <value in Watts>


1.1 On-Chip Components
----------------------

+--------------------------+-----------+----------+-----------+-----------------+
| On-Chip                  | Power (W) | Used     | Available | Utilization (%) |
+--------------------------+-----------+----------+-----------+-----------------+
| Clocks                   |     0.021 |        5 |       --- |             --- |
| Slice Logic              |     0.034 |    21877 |       --- |             --- |
|   LUT as Logic           |     0.030 |     9012 |     53200 |           16.94 |
|   CARRY4                 |    <0.001 |      310 |     13300 |            2.33 |
|   Register               |     0.003 |     9931 |    106400 |            9.33 |
| Signals                  |     0.052 |    15020 |       --- |             --- |
| Block RAM                |     0.031 |     12.5 |       140 |            8.93 |
| DSPs                     |     0.058 |      112 |       220 |           50.91 |
| PS7                      |     1.275 |        1 |       --- |             --- |
| Static Power             |     0.141 |          |           |                 |
| Total                    |     1.612 |          |           |                 |
+--------------------------+-----------+----------+-----------+-----------------+


1.2 Power Supply Summary
------------------------

+-----------+-------------+-----------+-------------+------------+-------------+-------------+------------+
| Source    | Voltage (V) | Total (A) | Dynamic (A) | Static (A) | Powerup (A) | Budget (A)  | Margin (A) |
+-----------+-------------+-----------+-------------+------------+-------------+-------------+------------+
| Vccint    |       1.000 |     0.210 |       0.196 |      0.014 |       NA    | Unspecified | NA         |
| Vccpint   |       1.000 |     0.640 |       0.606 |      0.034 |       NA    | Unspecified | NA         |
+-----------+-------------+-----------+-------------+------------+-------------+-------------+------------+


1.3 Confidence Level
--------------------

+-----------------------------+------------+--------------------------------------------------------+
| User Input Data             | Confidence | Details                                                |
+-----------------------------+------------+--------------------------------------------------------+
| Design implementation state | High       | Design is routed                                       |
| I/O nodes activity          | Low        | More than 75% of inputs are missing user specification |
| Internal nodes activity     | Medium     | User specified less than 25% of internal nodes         |
|                             |            |                                                        |
| Overall confidence level    | Low        |                                                        |
+-----------------------------+------------+--------------------------------------------------------+


2. Settings
-----------

2.1 Environment
---------------

+-----------------------+------------------------+
| Ambient Temp (C)      | 25.0                   |
| ThetaJA (C/W)         | 11.5                   |
+-----------------------+------------------------+


3. Detailed Reports
-------------------

3.1 By Hierarchy
----------------

+------------------------+-----------+
| Name                   | Power (W) |
+------------------------+-----------+
| fixy_bd_wrapper        |     1.471 |
|   fixy_bd_i            |     1.471 |
|     ctrl_sc            |     0.006 |
|       inst             |     0.006 |
|     dma                |     0.009 |
|       U0               |     0.009 |
|     engine             |     0.104 |
|       inst             |     0.104 |
|     frontend           |     0.068 |
|       inst             |     0.068 |
|     mem_sc             |     0.008 |
|     ps                 |     1.275 |
|       inst             |     1.275 |
|     rst                |    <0.001 |
|     wdma               |     0.001 |
+------------------------+-----------+
"""

ZYNQMP_SAIF = """\
Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.
-----------------------------------------------------------------------------------
| Tool Version     : Vivado v.2022.2 (lin64) Build 0000000 Mon Jan  1 00:00:00 MDT 2022
| Design           : fixy_bd_wrapper
| Device           : xczu7ev-ffvc1156-2-e
| Design State     : routed
-----------------------------------------------------------------------------------

Power Report

1. Summary
----------

+--------------------------+--------------+
| Total On-Chip Power (W)  | 3.517        |
| Design Power Budget (W)  | Unspecified* |
| Power Budget Margin (W)  | NA           |
| Dynamic (W)              | 2.902        |
| Device Static (W)        | 0.615        |
| Effective TJA (C/W)      | 1.0          |
| Max Ambient (C)          | 96.4         |
| Junction Temperature (C) | 28.6         |
| Thermal Margin (C)       | 71.4 (68.7 W)|
| Confidence Level         | Medium       |
| Setting File             | ---          |
| Simulation Activity File | sim/tb.saif  |
| Design Nets Matched      | 88%   (13200/15000) |
+--------------------------+--------------+


1.1 On-Chip Components
----------------------

+--------------------------+-----------+----------+-----------+-----------------+
| On-Chip                  | Power (W) | Used     | Available | Utilization (%) |
+--------------------------+-----------+----------+-----------+-----------------+
| Clocks                   |     0.112 |        4 |       --- |             --- |
| CLB Logic                |     0.090 |    30211 |       --- |             --- |
| Signals                  |     0.121 |    24410 |       --- |             --- |
| DSPs                     |     0.240 |      812 |      1728 |           46.99 |
| PS8                      |     2.339 |        1 |       --- |             --- |
| Static Power             |     0.615 |          |           |                 |
| Total                    |     3.517 |          |           |                 |
+--------------------------+-----------+----------+-----------+-----------------+
"""

OLD_2014 = """\
Copyright 1986-2014 Xilinx, Inc. All Rights Reserved.
----------------------------------------------------------------------------------------
| Tool Version     : Vivado v.2014.4 (lin64) Build 0000000 Tue Nov 18 16:47:07 MST 2014
| Command          : 
| Design           : fixy_top
| Device           : xc7a35tcpg236-1
| Design State     : Routed
| Grade            : commercial
| Process          : typical
| Characterization : Production
----------------------------------------------------------------------------------------

Power Report

1. Summary
----------

+--------------------------+-------+
| Total On-Chip Power (W)  | 0.119 |
| Dynamic (W)              | 0.047 |
| Device Static (W)        | 0.072 |
| Effective TJA (C/W)      | 5.0   |
| Max Ambient (C)          | 84.4  |
| Junction Temperature (C) | 25.6  |
| Confidence Level         | Low   |
| Setting File             | ---   |
| Simulation Activity File | ---   |
| Design Nets Matched      | NA    |
+--------------------------+-------+
"""

HOT = """\
| Design State     : synthesized

1. Summary
----------

+--------------------------+-----------------------------------+
| Total On-Chip Power (W)  | 33.215 (Junction temp exceeded!)  |
| Dynamic (W)              | 32.731                            |
| Device Static (W)        | 0.484                             |
| Junction Temperature (C) | 125.0                             |
| Confidence Level         | Low                               |
+--------------------------+-----------------------------------+
"""
