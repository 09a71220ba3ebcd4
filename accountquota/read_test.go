package accountquota_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/bedrock-batch/bedrock-batch/accountquota"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
)

const haiku = "anthropic.claude-3-haiku-20240307-v1:0"

// clients are the real Service Quotas and Bedrock control-plane clients, pointed at an
// emulator.
func clients(url string) (*servicequotas.Client, *bedrock.Client) {
	creds := credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")
	return servicequotas.New(servicequotas.Options{BaseEndpoint: aws.String(url), Region: "us-east-1", Credentials: creds, Retryer: aws.NopRetryer{}}),
		bedrock.New(bedrock.Options{BaseEndpoint: aws.String(url), Region: "us-east-1", Credentials: creds, Retryer: aws.NopRetryer{}})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestRead reads an account's quotas from the emulator through the SDK's clients, in both
// generations of names, and finds each model's as it is called.
func TestRead(t *testing.T) {
	for _, names := range []bedrocktest.QuotaNames{bedrocktest.NamesInvokeModel, bedrocktest.NamesModelInference} {
		srv := bedrocktest.NewServer(bedrocktest.Options{Account: &bedrocktest.AccountQuotas{Names: names, CrossModelTokensPerDay: 900_000_000,
			ApplicationProfiles: map[string]string{"abcdefghij12": "us." + haiku},
			Models: map[string]bedrocktest.ModelQuotas{
				haiku:            {TokensPerMinute: 37_000, CrossRegionTokensPerMinute: 74_000, TokensPerDay: 1_000_000, RecordsPerJob: 1000, JobsPerModel: 2},
				"acme.twin-v2:0": {Provider: "Acme", Name: "Twin", TokensPerMinute: 5000, GlobalTokensPerMinute: 9000},
			}}})
		quotas, catalog := clients(srv.URL)
		a, err := accountquota.Read(ctx(t), quotas, catalog)
		if err != nil {
			t.Fatal(err)
		}
		appProfile := "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12"
		a.Resolve(ctx(t), []string{appProfile})
		tpdCross := int64(1_000_000)
		if names == bedrocktest.NamesModelInference {
			tpdCross *= 2 // "(doubled for cross-region calls)"
		}
		for _, tt := range []struct {
			model    string
			tpm, tpd int64
		}{
			{haiku, 37_000, 1_000_000},
			{"us." + haiku, 74_000, tpdCross},
			{appProfile, 74_000, tpdCross},
			{"acme.twin-v2:0", 5000, 0},
			{"global.acme.twin-v2:0", 9000, 0},
			{"amazon.nova-lite-v1:0", 0, 0},
		} {
			l := a.For(tt.model)
			if l.TokensPerMinute.Value != tt.tpm || l.TokensPerDay.Value != tt.tpd {
				t.Errorf("names %d: %s: tpm %+v tpd %+v, want %d and %d", names, tt.model, l.TokensPerMinute, l.TokensPerDay, tt.tpm, tt.tpd)
			}
		}
		if l := a.For(haiku); l.RecordsPerJob.Value != 1000 || l.JobsPerModel.Value != 2 {
			t.Errorf("batch quotas of %s: %+v", haiku, l)
		}
		if got := a.CrossModelTokensPerDay().Value; got != 900_000_000 {
			t.Errorf("cross-model tokens per day %d", got)
		}
		if len(a.Notes) > 0 {
			t.Errorf("notes: %q", a.Notes)
		}
		srv.Close()
	}
}

func TestReadDenied(t *testing.T) {
	srv := bedrocktest.NewServer(bedrocktest.Options{Account: &bedrocktest.AccountQuotas{Denied: true}})
	defer srv.Close()
	quotas, catalog := clients(srv.URL)
	_, err := accountquota.Read(ctx(t), quotas, catalog)
	if !errors.Is(err, accountquota.ErrDenied) {
		t.Fatalf("err = %v, want ErrDenied", err)
	}
}
