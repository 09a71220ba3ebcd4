package tally

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bedrock-batch/bedrock-batch/writer"
)

func TestAddRowCountsByModelRouteTierAndGuardrail(t *testing.T) {
	var tt Totals
	tokens := Tokens{Input: 10, Output: 5, Total: 15, CacheRead: 2, CacheWrite: 1}
	tt.AddRow("m1", writer.RouteOnDemand, true, tokens, "flex", "end_turn")
	tt.AddRow("m1", writer.RouteBatchInference, true, tokens, "", "guardrail_intervened")
	tt.AddRow("m2", writer.RouteBatchInference, false, tokens, "", "")
	if tt.Records != 3 || tt.OK != 2 || tt.Error != 1 || tt.Tokens != tokens.Plus(tokens) {
		t.Errorf("totals %+v", tt)
	}
	m1, m2 := tt.Models["m1"], tt.Models["m2"]
	if m1.Records != 2 || m1.OK != 2 || m1.Batch == nil || m1.Batch.Records != 1 || m1.Batch.Tokens != tokens {
		t.Errorf("m1 %+v batch %+v", m1, m1.Batch)
	}
	if m2.Records != 1 || m2.Error != 1 || m2.Tokens != (Tokens{}) || m2.Batch.Error != 1 {
		t.Errorf("m2 %+v: an error row counts no tokens", m2)
	}
	if tt.ServiceTiers["flex"] != 1 || tt.GuardrailIntervened != 1 {
		t.Errorf("tiers %v, guardrail %d", tt.ServiceTiers, tt.GuardrailIntervened)
	}

	c := tt.Clone()
	c.Merge(tt)
	if c.Models["m1"].Records != 4 || c.Models["m1"].Batch.Records != 2 || c.ServiceTiers["flex"] != 2 || c.GuardrailIntervened != 2 {
		t.Errorf("merged %+v", c.Models["m1"])
	}
	if tt.Models["m1"].Records != 2 || tt.ServiceTiers["flex"] != 1 {
		t.Error("Merge into a clone changed the original")
	}
	if got := tokens.Plus(tokens).Minus(tokens); !reflect.DeepEqual(got, tokens) {
		t.Errorf("Plus then Minus = %+v", got)
	}
}

func TestErrorsByTypeKeepTheMostCommonMessage(t *testing.T) {
	var a Totals
	for range 3 {
		a.AddError("ValidationException", "maxTokens is above the model's limit")
	}
	a.AddError("ValidationException", "a one-off")
	for i := range 100 { // messages of their own each: a bounded few are kept
		a.AddError("ModelErrorException", fmt.Sprint("record ", i, " broke"))
	}
	a.AddError("ModelErrorException", "record 7 broke")
	if e := a.Errors["ValidationException"]; e.Rows != 4 || e.Message != "maxTokens is above the model's limit" {
		t.Errorf("ValidationException %+v", e)
	}
	if e := a.Errors["ModelErrorException"]; e.Rows != 101 || e.Message != "record 7 broke" || len(e.messages) > maxMessagesPerType {
		t.Errorf("ModelErrorException rows %d, message %q, %d messages kept", e.Rows, e.Message, len(e.messages))
	}
	if got := a.ErrorTypes(); !reflect.DeepEqual(got, []string{"ModelErrorException", "ValidationException"}) {
		t.Errorf("ErrorTypes = %q", got)
	}
	long := strings.Repeat("é", 400)
	a.AddError("Long", long)
	if m := a.Errors["Long"].Message; len(m) > maxMessageBytes+len("…") || !utf8.ValidString(m) {
		t.Errorf("a long message kept as %d bytes, valid %v", len(m), utf8.ValidString(m))
	}

	// Merging: counts add up, and a message read back from a manifest (no
	// per-message counts) weighs as many rows as it had.
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var fromManifest Totals
	if err := json.Unmarshal(data, &fromManifest); err != nil {
		t.Fatal(err)
	}
	var b Totals
	b.AddError("ValidationException", "a one-off")
	b.AddError("ValidationException", "a one-off")
	b.Merge(fromManifest)
	if e := b.Errors["ValidationException"]; e.Rows != 6 || e.Message != "maxTokens is above the model's limit" {
		t.Errorf("merged ValidationException %+v", e)
	}
	if e := b.Errors["ModelErrorException"]; e.Rows != 101 {
		t.Errorf("merged ModelErrorException %+v", e)
	}
}
