# Recording helpers shared by the fake tools' stubs.

proc fixy_json_string {s} {
    return "\"[string map [list \\ \\\\ \" \\\" \n \\n \r \\r \t \\t] $s]\""
}

# Append one call as a JSON line: {"tool": .., "cmd": .., "args": [..], "cwd": ..}.
proc fixy_fake_record {name arglist} {
    set words {}
    foreach a $arglist { lappend words [fixy_json_string $a] }
    set line "\{\"tool\": [fixy_json_string $::fixy_fake(tool)], \"cmd\": [fixy_json_string $name],\
 \"args\": \[[join $words {, }]\], \"cwd\": [fixy_json_string [pwd]]\}"
    set f [open $::fixy_fake(record) a]
    puts $f $line
    close $f
}

proc fixy_fake_fail_if {name} {
    if {$::fixy_fake(fail) eq $name} {
        puts "ERROR: \[FAKE 100-1\] $name failed (fake failure requested by the test)"
        error "$name failed (fake failure requested by the test)"
    }
}

# Define stub `name`: record, maybe fail, then run `body` (with $args) for its result and side effects.
proc fixy_stub {name {body {return ""}}} {
    proc $name {args} "fixy_fake_record [list $name] \$args\nfixy_fake_fail_if [list $name]\n$body"
}

# Value of option `opt` in an argument list, or `default`.
proc fixy_opt {arglist opt {default ""}} {
    set i [lsearch -exact $arglist $opt]
    if {$i < 0} { return $default }
    return [lindex $arglist [expr {$i + 1}]]
}

proc fixy_write {path text} {
    file mkdir [file dirname $path]
    set f [open $path w]
    puts -nonewline $f $text
    close $f
}
