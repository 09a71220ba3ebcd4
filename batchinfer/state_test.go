package batchinfer

import (
	"reflect"
	"strings"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	s := &State{RunKey: "job-1/shard-0", Parts: []Part{
		{Model: modelA, Name: "a/b/part-00001.jsonl", Records: 50000, Bytes: 123456789,
			JobARN: "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456", Status: StatusFailed, Message: "role \"x\" cannot read"},
		{Model: modelA, Name: "a/b/part-00002.jsonl", Records: 3, Bytes: 300, OnDemand: true},
	}}
	data, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalState(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, s)
	}
	if strings.Contains(string(data), `"JobARN": ""`) {
		t.Errorf("empty job fields are written:\n%s", data)
	}
}

func TestUnmarshalStateRejects(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"not JSON", `{`, "decoding"},
		{"no run key", `{"Parts":[]}`, "no RunKey"},
		{"part without name", `{"RunKey":"r","Parts":[{"Model":"m"}]}`, "no Name"},
		{"duplicate part", `{"RunKey":"r","Parts":[{"Model":"m","Name":"n"},{"Model":"m","Name":"n"}]}`, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalState([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("UnmarshalState: %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestFinished(t *testing.T) {
	for status, want := range map[string]bool{
		StatusSubmitted: false, StatusValidating: false, StatusScheduled: false, StatusInProgress: false,
		StatusStopping: false, StatusCompleted: true, StatusPartiallyCompleted: true, StatusFailed: true,
		StatusStopped: true, StatusExpired: true, "": false,
	} {
		if got := Finished(status); got != want {
			t.Errorf("Finished(%q) = %t, want %t", status, got, want)
		}
	}
}
