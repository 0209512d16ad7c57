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
fixy_stub set_clock_uncertainty
fixy_stub config_compile
fixy_stub config_interface
fixy_stub set_directive_interface
fixy_stub csim_design {
    if {$::hls(top) eq "" || $::hls(part) eq ""} { error "csim_design before set_top/set_part" }
}
fixy_stub csynth_design {
    set top $::hls(top)
    set xml "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<profile>
  <ReportVersion><Version>2022.1</Version></ReportVersion>
  <UserAssignments><unit>ns</unit><Part>$::hls(part)</Part><TopModelName>$top</TopModelName>
    <TargetClockPeriod>$::hls(period)</TargetClockPeriod><ClockUncertainty>1.25</ClockUncertainty></UserAssignments>
  <PerformanceEstimates>
    <SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>[format %.3f [expr {$::hls(period) * 0.73}]]</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency><unit>clock cycles</unit><Best-caseLatency>1200</Best-caseLatency><Average-caseLatency>1300</Average-caseLatency>
      <Worst-caseLatency>1400</Worst-caseLatency><Interval-min>1025</Interval-min><Interval-max>1025</Interval-max></SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>6</BRAM_18K><DSP>12</DSP><FF>3456</FF><LUT>7890</LUT><URAM>0</URAM></Resources>
    <AvailableResources><BRAM_18K>280</BRAM_18K><DSP>220</DSP><FF>106400</FF><LUT>53200</LUT><URAM>0</URAM></AvailableResources>
  </AreaEstimates>
</profile>
"
    fixy_write [file join $::hls(project) $::hls(solution) syn report ${top}_csynth.xml] $xml
}
fixy_stub export_design {
    set vlnv "[fixy_opt $args -vendor xilinx.com]:[fixy_opt $args -library hls]:$::hls(top):[fixy_opt $args -version 1.0]"
    fixy_write [file join $::hls(project) $::hls(solution) impl ip component.xml] "<component vlnv=\"$vlnv\"/>\n"
}
