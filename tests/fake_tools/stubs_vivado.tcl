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
set ::viv(board_repo_paths) {}
fixy_stub set_param {
    if {[lindex $args 0] eq "board.repoPaths"} { set ::viv(board_repo_paths) [lindex $args 1] }
}
fixy_stub get_board_parts {
    set pattern [lindex $args end]
    set board [lindex [split $pattern :] 1]
    if {[lsearch -exact [split $::fixy_fake(no_boards) ,] $board] >= 0} { return {} }
    return [list [string map {* part0:1.1} $pattern]]
}
fixy_stub exclude_bd_addr_seg
fixy_stub current_fileset { return sources_1 }
set ::viv(clock_mhz) 100.0
fixy_stub set_property {
    if {[lindex $args 0] eq "ip_repo_paths"} { set ::viv(repos) [lindex $args 1] }
    if {[lindex $args 0] eq "-dict"} {
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
fixy_stub connect_bd_intf_net
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
    # The hardware handoff: modules with their VLNVs, address ranges as assigned.
    set xml "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<EDKSYSTEM TOOLVERSION=\"fake\">\n  <MODULES>\n"
    foreach cell [lsort [array names ::cells]] {
        append xml "    <MODULE FULLNAME=\"/$cell\" INSTANCE=\"$cell\" VLNV=\"$::cells($cell)\">\n"
        if {$cell eq "ps"} {
            append xml "      <MEMORYMAP>\n"
            foreach seg $::segments {
                lassign $seg path offset range
                set high [format 0x%08X [expr {$offset + $range - 1}]]
                set type [expr {[string match *Mem0 $path] ? "MEMORY" : "REGISTER"}]
                append xml "        <MEMRANGE INSTANCE=\"[fixy_cell_of $path]\" BASEVALUE=\"$offset\" HIGHVALUE=\"$high\" MEMTYPE=\"$type\"/>\n"
            }
            append xml "      </MEMORYMAP>\n"
        }
        append xml "    </MODULE>\n"
    }
    append xml "  </MODULES>\n</EDKSYSTEM>\n"
    fixy_write [file join $::viv(dir) "$::viv(project).gen" sources_1 bd $::viv(bd) hw_handoff "$::viv(bd).hwh"] $xml
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
fixy_stub open_run
fixy_stub close_design
fixy_stub get_property {
    lassign $args name object
    switch -- $name {
        PROGRESS { return $::progress($object) }
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
