package pipeline_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/journal"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/request"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

const (
	benchRecords     = 20000
	benchConcurrency = 64
)

// BenchmarkPipelineVsBareSDK runs 20,000 records through the whole pipeline
// (JSONL file in, JSONL file out) and, in the same process against the same
// zero-latency emulator, a bare loop of SDK calls at the same concurrency
// that does nothing else. It reports both rates and their ratio: the goal is
// a ratio of at least 0.9 (the pipeline costs at most a tenth of a bare
// client's throughput). The benchmark is bound by CPU, so it also reports
// the process's CPU time (user and system) per record of each loop and
// their ratio, which another load on the machine moves far less than the
// rates, and the journal's syncs per run, each of which costs system time.
func BenchmarkPipelineVsBareSDK(b *testing.B) {
	srv := bedrocktest.NewServer(bedrocktest.Options{})
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	opts := bedrock.Options{Endpoint: srv.URL, MaxConns: benchConcurrency}

	dir := b.TempDir()
	input := filepath.Join(dir, "in.jsonl")
	writeBenchInput(b, input)

	var pipelineTime, bareTime, pipelineCPU, bareCPU time.Duration
	var syncs int64
	for i := 0; b.Loop(); i++ {
		start, cpu := time.Now(), processCPU()
		syncs += runPipeline(b, bedrock.New(cfg, opts), input, filepath.Join(dir, fmt.Sprintf("out-%d", i)))
		pipelineTime += time.Since(start)
		pipelineCPU += processCPU() - cpu

		start, cpu = time.Now(), processCPU()
		runBare(b, bedrock.NewRuntimeClient(cfg, opts))
		bareTime += time.Since(start)
		bareCPU += processCPU() - cpu
	}
	records := float64(benchRecords * b.N)
	pipelineRate := records / pipelineTime.Seconds()
	bareRate := records / bareTime.Seconds()
	b.ReportMetric(pipelineRate, "pipeline-rec/s")
	b.ReportMetric(bareRate, "bare-rec/s")
	b.ReportMetric(pipelineRate/bareRate, "ratio")
	b.ReportMetric(float64(syncs)/float64(b.N), "syncs/run")
	if pipelineCPU > 0 && bareCPU > 0 {
		b.ReportMetric(float64(pipelineCPU.Microseconds())/records, "pipeline-cpu-us/rec")
		b.ReportMetric(float64(bareCPU.Microseconds())/records, "bare-cpu-us/rec")
		b.ReportMetric(float64(bareCPU)/float64(pipelineCPU), "cpu-ratio")
	}
}

func benchPrompt(i int) string {
	return fmt.Sprintf("Summarise document %d in one short paragraph for a busy reader", i)
}

func writeBenchInput(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range benchRecords {
		if err := enc.Encode(map[string]any{"id": i, "prompt": benchPrompt(i), "metadata": map[string]int{"n": i}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// runPipeline runs the pipeline once and returns the journal's syncs.
func runPipeline(b *testing.B, model *bedrock.Client, input, output string) int64 {
	// The run's own sink: rows journaled with continuous group commits
	// (a write and an fsync each), the tail compacted into a data file.
	sink, err := journal.New(storage.NewLocalDir(output), journal.Options{Format: writer.JSONL, DataPrefix: "part-bench"})
	if err != nil {
		b.Fatal(err)
	}
	source := reader.OpenFiles([]reader.Input{{Path: input, Format: reader.JSONL}})
	defer source.Close()
	run := pipeline.New(source, model, sink, pipeline.Options{
		Concurrency: benchConcurrency,
		Requests:    request.New(request.Options{ModelID: "anthropic.claude-3-haiku-20240307-v1:0"}),
	})
	summary, err := run.Run(context.Background(), make(chan struct{}))
	if err != nil {
		b.Fatal(err)
	}
	syncs := sink.Stats().Syncs
	if err := sink.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	if summary.OK != benchRecords {
		b.Fatalf("%d ok rows of %d", summary.OK, benchRecords)
	}
	return syncs
}

// runBare is the baseline: the same SDK client, the same concurrency, the
// same prompts, and nothing else.
func runBare(b *testing.B, client *bedrockruntime.Client) {
	next := make(chan int)
	var wg sync.WaitGroup
	var failures sync.Map
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				_, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
					ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"),
					Messages: []types.Message{{Role: types.ConversationRoleUser,
						Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: benchPrompt(i)}}}},
				})
				if err != nil {
					failures.Store(i, err)
				}
			}
		}()
	}
	for i := range benchRecords {
		next <- i
	}
	close(next)
	wg.Wait()
	failures.Range(func(k, v any) bool {
		b.Fatalf("bare call %v: %v", k, v)
		return false
	})
}
