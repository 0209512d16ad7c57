# Stubs of the Vitis HLS / Vivado HLS commands used by fixyfpga's build_hls.tcl.

set ::hls(project) ""
set ::hls(top) ""
set ::hls(part) ""
set ::hls(period) 10.0
set ::hls(files) {}

fixy_stub open_project {
    set ::hls(project) [lindex $args end]
    file mkdir $::hls(project)
}
fixy_stub set_top { set ::hls(top) [lindex $args 0] }
fixy_stub add_files {
    # The file is the one word that is neither an option nor an option's value.
    set path ""
    for {set i 0} {$i < [llength $args]} {incr i} {
        set a [lindex $args $i]
        if {$a in {-cflags -csimflags}} { incr i; continue }
        if {[string match -* $a]} { continue }
        set path $a
    }
    if {![file exists $path]} { error "\[HLS 200-70\] Cannot find source file $path" }
    lappend ::hls(files) $path
}
fixy_stub open_solution {
    if {$::hls(project) eq ""} { error "no project open" }
    file mkdir [file join $::hls(project) [lindex $args end]]
    set ::hls(solution) [lindex $args end]
}
fixy_stub set_part { set ::hls(part) [lindex $args 0] }
fixy_stub create_clock { set ::hls(period) [fixy_opt $args -period 10.0] }
set ::hls(uncertainty) "27%"
fixy_stub set_clock_uncertainty { set ::hls(uncertainty) [lindex $args 0] }
fixy_stub config_compile
fixy_stub config_interface
set ::hls(axilite_return) ""
fixy_stub set_directive_interface {
    # set_directive_interface -mode s_axilite [-bundle B] <top> return
    if {[fixy_opt $args -mode] eq "s_axilite" && [lindex $args end] eq "return"} {
        set ::hls(axilite_return) [fixy_opt $args -bundle control]
    }
}
fixy_stub csim_design {
    if {$::hls(top) eq "" || $::hls(part) eq ""} { error "csim_design before set_top/set_part" }
}
# The reports come from the C++ the script added (fake_hls_reports.py), never from the kit's design.json.
proc fixy_hls_reports {what a b out} {
    exec $::fixy_fake(python) [file join $::fixy_fake(dir) fake_hls_reports.py] $what $::hls(top) $a $b $out \
        $::hls(axilite_return) $::hls(uncertainty) {*}$::hls(files)
}
fixy_stub csynth_design {
    set top $::hls(top)
    puts [fixy_hls_reports csynth $::hls(part) $::hls(period) [file join $::hls(project) $::hls(solution) syn report ${top}_csynth.xml]]
}
fixy_stub export_design {
    set vlnv "[fixy_opt $args -vendor xilinx.com]:[fixy_opt $args -library hls]:$::hls(top):[fixy_opt $args -version 1.0]"
    fixy_hls_reports component $vlnv - [file join $::hls(project) $::hls(solution) impl ip component.xml]
}
