// Command batch runs large prompt sets through Amazon Bedrock: it reads
// JSONL or Parquet records, calls Converse for each with bounded
// concurrency, and writes one result row per record.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes.
const (
	exitOK         = 0
	exitFailed     = 1 // the run could not finish
	exitUsage      = 2
	exitSomeErrors = 3 // finished, every record has a row, some rows are errors
	exitQuota      = 4 // stopped at a quota that resets later: run the same command again to continue
	exitLeaseHeld  = 5 // another run holds the output shard: this run sent nothing
)

const usageText = `batch runs prompt sets through Amazon Bedrock.

Usage:
  batch run --input PATH... --output DIR --model MODEL_ID [flags]
  batch validate --job job.yaml [flags]
  batch status --output DIR|s3://bucket/prefix/
  batch emulate [--addr 127.0.0.1:8080] [flags]
  batch version
  batch help [command]

Commands:
  run       call Bedrock Converse for every record and write one row per record
  validate  check a job (inputs, a sample of records, the output) without calling the model
  status    report a job's output per shard and in total
  emulate   serve a local Bedrock Runtime emulator (for trying things out and tests)
  version   print the version and the source revision this binary was built from

Run "batch help run" for the flags of run.
`

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runCommand(args[1:], stdout, stderr)
	case "validate":
		return validateCommand(args[1:], stdout, stderr)
	case "status":
		return statusCommand(args[1:], stdout, stderr)
	case "emulate":
		return emulateCommand(args[1:], stderr)
	case "version", "--version", "-version":
		return versionCommand(stdout)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return dispatch([]string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "batch: unknown command %q\n\n%s", args[0], usageText)
		return exitUsage
	}
}
