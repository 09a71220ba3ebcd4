package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// versionCommand prints the module version and the VCS revision the
// binary was built from, as Go's build info records them.
func versionCommand(stdout io.Writer) int {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(stdout, "batch: no build information in this binary")
		return exitOK
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	fmt.Fprintf(stdout, "batch %s %s", info.Main.Path, version)
	if rev := settings["vcs.revision"]; rev != "" {
		fmt.Fprintf(stdout, " revision %s", rev)
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(stdout, " (%s)", t)
		}
		if settings["vcs.modified"] == "true" {
			fmt.Fprint(stdout, " with local changes")
		}
	}
	fmt.Fprintf(stdout, ", %s\n", info.GoVersion)
	return exitOK
}
