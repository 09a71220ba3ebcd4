package bedrocktest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func TestServiceTierAndLatency(t *testing.T) {
	tests := []struct {
		name     string
		tier     types.ServiceTierType // "" = none sent
		latency  types.PerformanceConfigLatency
		wantTier types.ServiceTierType
	}{
		{"none sent is default", "", "", types.ServiceTierTypeDefault},
		{"default", types.ServiceTierTypeDefault, "", types.ServiceTierTypeDefault},
		{"priority, optimized", types.ServiceTierTypePriority, types.PerformanceConfigLatencyOptimized, types.ServiceTierTypePriority},
		{"flex", types.ServiceTierTypeFlex, types.PerformanceConfigLatencyStandard, types.ServiceTierTypeFlex},
		{"reserved", types.ServiceTierTypeReserved, "", types.ServiceTierTypeReserved},
	}
	var obs observer
	srv, client := newServer(t, Options{Observe: obs.observe})
	var wantTiers TierCounts
	for _, tt := range tests {
		var tier *types.ServiceTier
		if tt.tier != "" {
			tier = &types.ServiceTier{Type: tt.tier}
		}
		var perf *types.PerformanceConfiguration
		if tt.latency != "" {
			perf = &types.PerformanceConfiguration{Latency: tt.latency}
		}
		checkPerf := func(t *testing.T, got *types.PerformanceConfiguration) {
			t.Helper()
			switch {
			case tt.latency == "" && got != nil:
				t.Errorf("performanceConfig %+v, want none", got)
			case tt.latency != "" && (got == nil || got.Latency != tt.latency):
				t.Errorf("performanceConfig %+v, want %q", got, tt.latency)
			}
		}
		t.Run(tt.name+"/converse", func(t *testing.T) {
			out, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(testModel),
				Messages: []types.Message{userText("hi")}, ServiceTier: tier, PerformanceConfig: perf})
			if err != nil {
				t.Fatal(err)
			}
			if out.ServiceTier == nil || out.ServiceTier.Type != tt.wantTier {
				t.Errorf("serviceTier %+v, want %q", out.ServiceTier, tt.wantTier)
			}
			checkPerf(t, out.PerformanceConfig)
			if o := obs.last(t); o.ServiceTier != string(tt.tier) || o.Latency != string(tt.latency) {
				t.Errorf("observed tier %q latency %q", o.ServiceTier, o.Latency)
			}
		})
		t.Run(tt.name+"/stream", func(t *testing.T) {
			out, err := client.ConverseStream(testCtx(t), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(testModel),
				Messages: []types.Message{userText("hi")}, ServiceTier: tier, PerformanceConfig: perf})
			if err != nil {
				t.Fatal(err)
			}
			r := readStream(t, out)
			if r.err != nil || r.metadata.ServiceTier == nil || r.metadata.ServiceTier.Type != tt.wantTier {
				t.Errorf("err %v, metadata serviceTier %+v, want %q", r.err, r.metadata.ServiceTier, tt.wantTier)
			}
			checkPerf(t, r.metadata.PerformanceConfig)
		})
		switch tt.wantTier {
		case types.ServiceTierTypeDefault:
			wantTiers.Default += 2
		case types.ServiceTierTypePriority:
			wantTiers.Priority += 2
		case types.ServiceTierTypeFlex:
			wantTiers.Flex += 2
		case types.ServiceTierTypeReserved:
			wantTiers.Reserved += 2
		}
	}
	if got := srv.Stats().Tiers; got != wantTiers {
		t.Errorf("Stats().Tiers = %+v, want %+v", got, wantTiers)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name     string
		in       *bedrockruntime.ConverseInput
		contains string
	}{
		{"unknown tier", &bedrockruntime.ConverseInput{ServiceTier: &types.ServiceTier{Type: "turbo"}},
			"Value 'turbo' at 'serviceTier.type' failed to satisfy constraint: Member must satisfy enum value set: [priority, default, flex, reserved]"},
		{"unknown latency", &bedrockruntime.ConverseInput{PerformanceConfig: &types.PerformanceConfiguration{Latency: "fast"}},
			"Value 'fast' at 'performanceConfig.latency' failed to satisfy constraint: Member must satisfy enum value set: [standard, optimized]"},
	}
	_, client := newServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.ModelId, tt.in.Messages = aws.String(testModel), []types.Message{userText("hi")}
			_, err := client.Converse(testCtx(t), tt.in)
			expectAPIError(t, err, "ValidationException", tt.contains)
		})
	}
}
