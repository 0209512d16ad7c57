# Stubs of the Vivado commands used by fixyfpga's build_vivado.tcl. They record every call, check what
# Vivado would check cheaply (cells and pins exist, IPs are in the catalog, runs finished), and write
# the files the real flow leaves behind: run folders, reports, the bitstream and the hardware handoff.

set ::viv(project) ""
set ::viv(dir) ""
set ::viv(part) ""
set ::viv(repos) {}
set ::viv(sources) {}
set ::viv(bd) ""
array set ::cells {}
set ::segments {}
set ::progress(synth_1) "0%"
set ::progress(impl_1) "0%"

# Parts the fake knows: LUT FF BRAM36 DSP, and the family's row names in utilization reports.
array set ::part_resources {
    xc7z020clg400-1     {53200 106400 140 220 zynq7}
    xczu3eg-sbva484-1-i {70560 141120 216 360 zynqmp}
    xczu7ev-ffvc1156-2-e {230400 460800 312 1728 zynqmp}
    xck26-sfvc784-2LV-c {117120 234240 144 1248 zynqmp}
}

proc fixy_cell_of {path} { return [lindex [split $path /] 0] }
proc fixy_need_cell {path} {
    set cell [fixy_cell_of $path]
    if {![info exists ::cells($cell)]} { error "\[BD 5-104\] no cell '$cell' in the block design (object $path)" }
    return $path
}

fixy_stub create_project {
    set ::viv(project) [lindex $args [expr {[lindex $args 0] eq "-force" ? 1 : 0}]]
    set ::viv(dir) [file normalize [lindex $args [expr {[lindex $args 0] eq "-force" ? 2 : 1}]]]
    set ::viv(part) [fixy_opt $args -part]
    if {![info exists ::part_resources($::viv(part))]} { error "\[Project 1-19\] part $::viv(part) not found" }
    file mkdir $::viv(dir)
    return $::viv(project)
}
fixy_stub current_project { return $::viv(project) }
# Board files: get_board_parts returns the installed parts matching a pattern (UG895: board parts are
# vendor:board:part0:file_version; -latest_file_version keeps the newest). The fake "installs" the board
# parts the kit's boards/*.yaml name, unless FIXY_FAKE_NO_BOARDS lists the board (as on a fresh Vivado
# install, where pynq-z2 and ultra96v2 board files are not shipped).
# A board listed in FIXY_FAKE_NO_BOARDS is found only when a board repository is set both ways FINN sets it:
# the session parameter board.repoPaths and the project property BOARD_PART_REPO_PATHS.
set ::viv(board_repo_paths) {}
set ::viv(board_part_repo_paths) {}
fixy_stub set_param {
    if {[lindex $args 0] eq "board.repoPaths"} { set ::viv(board_repo_paths) [lindex $args 1] }
}
fixy_stub get_param {
    if {[lindex $args 0] eq "board.repoPaths"} { return $::viv(board_repo_paths) }
    return ""
}
fixy_stub get_board_parts {
    set pattern [lindex $args end]
    set board [lindex [split $pattern :] 1]
    if {[lsearch -exact [split $::fixy_fake(no_boards) ,] $board] >= 0
        && ($::viv(board_repo_paths) eq "" || $::viv(board_part_repo_paths) eq "")} { return {} }
    return [list [string map {* part0:1.1} $pattern]]
}
fixy_stub exclude_bd_addr_seg
fixy_stub current_fileset { return sources_1 }
set ::viv(clock_mhz) 100.0
fixy_stub set_property {
    if {[lindex $args 0] eq "ip_repo_paths"} { set ::viv(repos) [lindex $args 1] }
    if {[string toupper [lindex $args 0]] eq "BOARD_PART_REPO_PATHS"} {
        if {$::viv(project) eq ""} { error "\[Common 17-55\] 'set_property' expects at least one object." }
        set ::viv(board_part_repo_paths) [lindex $args 1]
    }
    if {[lindex $args 0] eq "-dict"} {
        set ::cellcfg([lindex $args end]) [lindex $args 1]
        foreach {key value} [lindex $args 1] {
            if {$key in {CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ}} {
                set ::viv(clock_mhz) $value
            }
        }
    }
}
fixy_stub update_ip_catalog
fixy_stub add_files {
    foreach f [lindex $args end] {
        if {![file exists $f]} { error "\[Vivado 12-172\] File or Directory '$f' does not exist" }
        lappend ::viv(sources) [file rootname [file tail $f]]
    }
}
fixy_stub update_compile_order
fixy_stub get_ipdefs {
    set prefix [string range [lindex $args end] 0 end-2]
    return [list "$prefix:1.0" "$prefix:1.10"]
}
fixy_stub create_bd_design { set ::viv(bd) [lindex $args 0] }
fixy_stub create_bd_cell {
    set name [lindex $args end]
    set type [fixy_opt $args -type]
    if {$type eq "module"} {
        set ref [fixy_opt $args -reference]
        if {[lsearch -exact $::viv(sources) $ref] < 0} { error "\[BD 41-1662\] module $ref is not in the project sources" }
        set ::cells($name) "module:$ref"
    } else {
        set vlnv [fixy_opt $args -vlnv]
        if {[string match fixyfpga:* $vlnv]} {
            # An IP repository's component.xml (IP-XACT 1685-2009): the VLNV is spirit:vendor, library,
            # name, version; its interfaces are the spirit:busInterface names.
            set found 0
            foreach repo $::viv(repos) {
                foreach xml [glob -nocomplain -directory $repo component.xml] {
                    set f [open $xml r]; set text [read $f]; close $f
                    set parts {}
                    foreach tag {vendor library name version} {
                        regexp "<spirit:$tag>(\[^<\]*)</spirit:$tag>" $text -> value
                        lappend parts $value
                    }
                    if {[join $parts :] eq $vlnv} {
                        set found 1
                        set ::ipbus($name) [regexp -all -inline {<spirit:busInterface><spirit:name>[^<]*} $text]
                        set ::ipbus($name) [lmap b $::ipbus($name) {string range $b [string last > $b]+1 end}]
                    }
                }
            }
            if {!$found} { error "\[BD 5-390\] IP definition not found for VLNV: $vlnv" }
        }
        set ::cells($name) $vlnv
    }
    return $name
}
fixy_stub get_bd_cells { foreach c $args { fixy_need_cell $c }; return $args }
fixy_stub get_bd_intf_pins {
    set path [lindex $args end]
    set cell [fixy_need_cell $path]
    set intf [lindex [split $path /] end]
    if {[info exists ::ipbus($cell)] && [lsearch -exact $::ipbus($cell) $intf] < 0} {
        error "\[BD 5-106\] interface pin $path not found (the IP has: $::ipbus($cell))"
    }
    return $path
}
fixy_stub get_bd_pins {
    set of [fixy_opt $args -of_objects]
    if {$of ne ""} {
        # The pins of an engine BRAM interface <var>_PORTA, named as Vitis HLS names them.
        set base [string map {_PORTA ""} $of]
        return [list ${base}_Addr_A ${base}_EN_A ${base}_WEN_A ${base}_Din_A ${base}_Dout_A ${base}_Clk_A ${base}_Rst_A]
    }
    return [fixy_need_cell [lindex $args end]]
}
fixy_stub get_bd_addr_spaces { return [fixy_need_cell [lindex $args end]] }
fixy_stub get_bd_addr_segs { return [fixy_need_cell [lindex $args end]] }
fixy_stub apply_bd_automation
# Interface connections per cell: the fake's power grows with how much of the design a cell connects.
array set ::intf_count {}
fixy_stub connect_bd_intf_net { foreach pin $args { incr ::intf_count([fixy_cell_of $pin]) } }
fixy_stub connect_bd_net
fixy_stub assign_bd_address {
    set offset [fixy_opt $args -offset]
    if {$offset ne ""} { lappend ::segments [list [lindex $args end-1] $offset [fixy_opt $args -range]] }
}
fixy_stub validate_bd_design
fixy_stub save_bd_design
fixy_stub get_files { return [lindex $args end] }
fixy_stub make_wrapper { return [file join $::viv(dir) "$::viv(bd)_wrapper.v"] }
fixy_stub generate_target {
    # The hardware handoff in Vivado's layout (fake_hwh.py): modules with their VLNVs, the processor's address
    # map as assigned, HLS registers from the exported component.xml.
    set cellargs {}
    foreach cell [lsort [array names ::cells]] { lappend cellargs $cell $::cells($cell) }
    set segargs {}
    foreach seg $::segments { lappend segargs {*}$seg }
    exec $::fixy_fake(python) [file join $::fixy_fake(dir) fake_hwh.py] \
        [file join $::viv(dir) "$::viv(project).gen" sources_1 bd $::viv(bd) hw_handoff "$::viv(bd).hwh"] \
        2025.2 [join $::viv(repos) |] -- {*}$cellargs -- {*}$segargs
}
proc fixy_run_dir {run} { return [file join $::viv(dir) "$::viv(project).runs" $run] }
fixy_stub get_runs { return [lindex $args 0] }
fixy_stub launch_runs {
    set run [lindex $args 0]
    set dir [fixy_run_dir $run]
    if {$::fixy_fake(fail) eq $run} {
        fixy_write [file join $dir runme.log] "INFO: starting $run\nERROR: \[Synth 8-439\] module 'fixy_engine' not found (fake failure requested by the test)\nERROR: \[Common 17-69\] Command failed: $run failed\n"
        set ::progress($run) "0%"
        return
    }
    fixy_write [file join $dir runme.log] "INFO: $run complete\n"
    if {$run eq "impl_1"} { fixy_write [file join $dir "$::viv(bd)_wrapper.bit"] "fake bitstream for $::viv(part)\n" }
    set ::progress($run) "100%"
}
fixy_stub wait_on_run
# An open design: report_power needs one, as in Vivado.
set ::viv(open) ""
fixy_stub open_run { set ::viv(open) [lindex $args 0] }
fixy_stub close_design { set ::viv(open) "" }
fixy_stub get_property {
    lassign $args name object
    switch -- $name {
        PROGRESS { return $::progress($object) }
        BOARD_PART_REPO_PATHS { return $::viv(board_part_repo_paths) }
        DIRECTORY { return [fixy_run_dir $object] }
        LEFT {
            if {[string match *Addr_A $object]} { return 31 }
            if {[string match *WEN_A $object]} { return 0 }
            return 7
        }
        RIGHT { return 0 }
    }
    return ""
}
fixy_stub report_utilization {
    lassign $::part_resources($::viv(part)) lut ff bram dsp family
    set names [expr {$family eq "zynq7" ? {{Slice LUTs} {Slice Registers}} : {{CLB LUTs} {CLB Registers}}}]
    set rpt "Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.\n| Tool Version : fake\n| Device       : $::viv(part)\n\n"
    append rpt "1. [expr {$family eq "zynq7" ? "Slice Logic" : "CLB Logic"}]\n--------------\n\n"
    append rpt "+----------------------------+-------+-------+------------+-----------+-------+\n"
    append rpt "|          Site Type         |  Used | Fixed | Prohibited | Available | Util% |\n"
    append rpt "+----------------------------+-------+-------+------------+-----------+-------+\n"
    append rpt [format "| %-26s | %5d | %5d | %10d | %9d | %5.2f |\n" "[lindex $names 0]*" 12345 0 0 $lut [expr {100.0 * 12345 / $lut}]]
    append rpt [format "| %-26s | %5d | %5d | %10d | %9d | %5.2f |\n" "  LUT as Logic" 11000 0 0 $lut 1.0]
    append rpt [format "| %-26s | %5d | %5d | %10d | %9d | %5.2f |\n" [lindex $names 1] 23456 0 0 $ff [expr {100.0 * 23456 / $ff}]]
    append rpt "+----------------------------+-------+-------+------------+-----------+-------+\n\n"
    append rpt "3. Memory\n---------\n\n"
    append rpt "+-------------------+------+-------+------------+-----------+-------+\n"
    append rpt "|     Site Type     | Used | Fixed | Prohibited | Available | Util% |\n"
    append rpt "+-------------------+------+-------+------------+-----------+-------+\n"
    append rpt [format "| %-17s | %4s | %5d | %10d | %9d | %5.2f |\n" "Block RAM Tile" 20.5 0 0 $bram [expr {100.0 * 20.5 / $bram}]]
    append rpt [format "| %-17s | %4s | %5d | %10d | %9d | %5.2f |\n" "  RAMB36/FIFO*" 18 0 0 $bram 1.0]
    append rpt "+-------------------+------+-------+------------+-----------+-------+\n\n"
    append rpt "4. DSP\n------\n\n"
    append rpt "+----------------+------+-------+------------+-----------+-------+\n"
    append rpt "|    Site Type   | Used | Fixed | Prohibited | Available | Util% |\n"
    append rpt "+----------------+------+-------+------------+-----------+-------+\n"
    append rpt [format "| %-14s | %4d | %5d | %10d | %9d | %5.2f |\n" "DSPs" 93 0 0 $dsp [expr {100.0 * 93 / $dsp}]]
    append rpt "+----------------+------+-------+------------+-----------+-------+\n"
    fixy_write [fixy_opt $args -file] $rpt
}
fixy_stub report_timing_summary {
    lassign $::part_resources($::viv(part)) lut ff bram dsp family
    set clock [expr {$family eq "zynq7" ? "clk_fpga_0" : "clk_pl_0"}]
    set wns $::fixy_fake(wns)
    set rpt "Timing Report\n\n------------------------------------------------------------------------------------------------\n"
    append rpt "| Clock Summary\n| -------------\n------------------------------------------------------------------------------------------------\n\n"
    append rpt "Clock       Waveform(ns)         Period(ns)      Frequency(MHz)\n-----       ------------         ----------      --------------\n"
    set period [expr {1000.0 / $::viv(clock_mhz)}]
    append rpt [format "%-11s {0.000 %.3f}        %.3f          %.3f\n\n" $clock [expr {$period / 2}] $period $::viv(clock_mhz)]
    append rpt "------------------------------------------------------------------------------------------------\n| Design Timing Summary\n| ---------------------\n------------------------------------------------------------------------------------------------\n\n"
    append rpt "    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)  THS Failing Endpoints  THS Total Endpoints     WPWS(ns)     TPWS(ns)  TPWS Failing Endpoints  TPWS Total Endpoints\n"
    append rpt "    -------      -------  ---------------------  -------------------      -------      -------  ---------------------  -------------------     --------     --------  ----------------------  --------------------\n"
    set failing [expr {$wns < 0 ? 12 : 0}]
    set tns [expr {$wns < 0 ? $wns * 12 : 0.0}]
    append rpt [format "    %7.3f      %7.3f  %21d  %19d      %7.3f      %7.3f  %21d  %19d     %8.3f     %8.3f  %22d  %20d\n\n" $wns $tns $failing 24538 0.021 0.0 0 24538 3.75 0.0 0 11130]
    append rpt [expr {$wns < 0 ? "Timing constraints are not met.\n" : "All user specified timing constraints are met.\n"}]
    fixy_write [fixy_opt $args -file] $rpt
}
# set_switching_activity (UG835): -default_toggle_rate is a percentage, 0 <= value < 200;
# -default_static_probability a probability, 0 to 1.
set ::viv(toggle) 12.5
fixy_stub set_switching_activity {
    set rate [fixy_opt $args -default_toggle_rate 12.5]
    set prob [fixy_opt $args -default_static_probability 0.5]
    if {![string is double -strict $rate] || $rate < 0 || $rate >= 200} {
        error "\[Power 33-20\] -default_toggle_rate $rate is not in 0 <= value < 200"
    }
    if {![string is double -strict $prob] || $prob < 0 || $prob > 1} {
        error "\[Power 33-20\] -default_static_probability $prob is not in 0 to 1"
    }
    set ::viv(toggle) $rate
}
# report_power: the text report in the layout Vivado writes (UG907 "Running Power Analysis from the Tcl
# Prompt"; the layout as in public routed reports of Vivado 2021.1 / 2024.1: header, "1. Summary" two-column
# table, "1.1 On-Chip Components" with the processing system as PS7 or PS8, "1.3 Confidence Level",
# "3.1 By Hierarchy" indented by two spaces per level, '<0.001' for small figures), and with -xpe an XML file
# for XPE. The figures come from the design: each block-design cell's dynamic power grows with the clock, the
# default toggle rate, the interfaces connected to it and its configured stream widths; device static power
# with the part's size.
proc fixy_w {value} {
    if {$value < 0.001} { return "<0.001" }
    return [format %.3f $value]
}
fixy_stub report_power {
    if {$::viv(open) eq ""} { error "\[Common 17-53\] User Exception: No open design. Please open an elaborated, synthesized or implemented design before executing this command." }
    lassign $::part_resources($::viv(part)) lut ff bram dsp family
    set file [fixy_opt $args -file]
    set lines [fixy_opt $args -l 10]
    set cells {}
    set pl 0.0
    foreach cell [lsort [array names ::cells]] {
        if {$cell eq "ps"} { continue }
        set n [expr {[info exists ::intf_count($cell)] ? $::intf_count($cell) : 0}]
        # stream and memory widths configured on the cell (DMA TDATA widths in bits, converter bytes)
        if {[info exists ::cellcfg($cell)]} {
            foreach {key value} $::cellcfg($cell) {
                if {[string match -nocase *tdata_width $key] || [string match -nocase *data_width $key]} {
                    set n [expr {$n + $value / 32.0}]
                } elseif {[string match *NUM_BYTES $key]} {
                    set n [expr {$n + $value / 4.0}]
                }
            }
        }
        set w [expr {round(1000.0 * $::viv(clock_mhz) * $::viv(toggle) / 12.5 * 4e-5 * (1 + $n)) / 1000.0}]
        lappend cells $cell $w
        set pl [expr {$pl + $w}]
    }
    # The processing system: its DDR and cores, not the PL clock (its configuration is the board preset).
    set ps_name [expr {$family eq "zynq7" ? "PS7" : "PS8"}]
    set ps [expr {$family eq "zynq7" ? 1.256 : 2.188}]
    set static [expr {round(1000.0 * (0.02 + 1.6e-6 * $lut)) / 1000.0}]
    set dynamic [expr {$pl + $ps}]
    set total [expr {$dynamic + $static}]
    set rpt "Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.\n"
    append rpt "-------------------------------------------------------------------------\n"
    append rpt "| Tool Version     : Vivado v.fake (fixyfpga tests)\n| Command          : report_power $args\n"
    append rpt "| Design           : $::viv(bd)_wrapper\n| Device           : $::viv(part)\n| Design State     : routed\n"
    append rpt "| Grade            : commercial\n| Process          : typical\n| Characterization : Production\n"
    append rpt "-------------------------------------------------------------------------\n\nPower Report\n\n"
    append rpt "Table of Contents\n-----------------\n1. Summary\n1.1 On-Chip Components\n1.2 Power Supply Summary\n"
    append rpt "1.3 Confidence Level\n2. Settings\n2.1 Environment\n3. Detailed Reports\n3.1 By Hierarchy\n\n"
    append rpt "1. Summary\n----------\n\n+--------------------------+--------------+\n"
    foreach {label value} [list "Total On-Chip Power (W)" [format %.3f $total] "Design Power Budget (W)" "Unspecified*" \
            "Power Budget Margin (W)" NA "Dynamic (W)" [format %.3f $dynamic] "Device Static (W)" [format %.3f $static] \
            "Effective TJA (C/W)" 4.8 "Max Ambient (C)" [format %.1f [expr {100 - 4.8 * $total}]] \
            "Junction Temperature (C)" [format %.1f [expr {25 + 4.8 * $total}]] "Confidence Level" Low \
            "Setting File" --- "Simulation Activity File" --- "Design Nets Matched" NA] {
        append rpt [format "| %-24s | %-12s |\n" $label $value]
    }
    append rpt "+--------------------------+--------------+\n* Specify Design Power Budget using, set_operating_conditions -design_power_budget <value in Watts>\n\n\n"
    append rpt "1.1 On-Chip Components\n----------------------\n\n"
    append rpt "+--------------------------+-----------+----------+-----------+-----------------+\n"
    append rpt "| On-Chip                  | Power (W) | Used     | Available | Utilization (%) |\n"
    append rpt "+--------------------------+-----------+----------+-----------+-----------------+\n"
    set carry [expr {$family eq "zynq7" ? "CARRY4" : "CARRY8"}]
    foreach {name share used avail} [list Clocks 0.2 3 --- "Slice Logic" 0.3 12345 --- "  LUT as Logic" 0.2 11000 $lut \
            "  $carry" 0.0001 120 [expr {$lut / 8}] "  Register" 0.1 23456 $ff Signals 0.3 20000 --- \
            "Block RAM" 0.1 20.5 $bram DSPs 0.1 93 $dsp] {
        append rpt [format "| %-24s | %9s | %8s | %9s | %15s |\n" $name [fixy_w [expr {$pl * $share}]] $used $avail ---]
    }
    append rpt [format "| %-24s | %9s | %8s | %9s | %15s |\n" $ps_name [format %.3f $ps] 1 --- ---]
    append rpt [format "| %-24s | %9s | %8s | %9s | %15s |\n" "Static Power" [format %.3f $static] "" "" ""]
    append rpt [format "| %-24s | %9s | %8s | %9s | %15s |\n" "Total" [format %.3f $total] "" "" ""]
    append rpt "+--------------------------+-----------+----------+-----------+-----------------+\n\n\n"
    append rpt "1.3 Confidence Level\n--------------------\n\n"
    append rpt "+-----------------------------+------------+--------------------------------------------------------+\n"
    append rpt "| User Input Data             | Confidence | Details                                                |\n"
    append rpt "+-----------------------------+------------+--------------------------------------------------------+\n"
    append rpt "| Design implementation state | High       | Design is routed                                       |\n"
    append rpt "| I/O nodes activity          | Low        | More than 75% of inputs are missing user specification |\n"
    append rpt "| Overall confidence level    | Low        |                                                        |\n"
    append rpt "+-----------------------------+------------+--------------------------------------------------------+\n\n\n"
    append rpt "2. Settings\n-----------\n\n2.1 Environment\n---------------\n\n+-----------------------+-------+\n"
    append rpt "| Ambient Temp (C)      | 25.0  |\n| ThetaJA (C/W)         | 4.8   |\n+-----------------------+-------+\n\n\n"
    append rpt "3. Detailed Reports\n-------------------\n\n3.1 By Hierarchy\n----------------\n\n"
    append rpt "+--------------------------------+-----------+\n| Name                           | Power (W) |\n"
    append rpt "+--------------------------------+-----------+\n"
    set rows [list [list 0 "$::viv(bd)_wrapper" $dynamic] [list 1 "$::viv(bd)_i" $dynamic]]
    foreach {cell w} [concat [list ps $ps] $cells] {
        lappend rows [list 2 $cell $w] [list 3 [expr {$cell eq "ps" ? "inst" : "U0"}] $w]
    }
    foreach row [lrange $rows 0 [expr {$lines - 1}]] {
        lassign $row depth name w
        append rpt [format "| %-30s | %9s |\n" "[string repeat {  } $depth]$name" [fixy_w $w]]
    }
    append rpt "+--------------------------------+-----------+\n"
    fixy_write $file $rpt
    set xpe [fixy_opt $args -xpe]
    if {$xpe ne ""} {
        fixy_write $xpe "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- fake XPE export (fixyfpga tests) -->\n<XPE device=\"$::viv(part)\" total_w=\"[format %.3f $total]\"/>\n"
    }
}
