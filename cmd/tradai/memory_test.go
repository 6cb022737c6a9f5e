package main

import (
	"context"
	"testing"
)

// The study commands get a MemoryLimit only where main gave one, and
// none when the environment sets GOGC or GOMEMLIMIT.
func TestStudyMemory(t *testing.T) {
	if studyMemory(context.Background()) != nil {
		t.Error("a MemoryLimit without withStudyMemory")
	}
	if studyMemory(withStudyMemory(context.Background(), func(string) string { return "" })) == nil {
		t.Error("no MemoryLimit from withStudyMemory")
	}
	env := map[string]string{"GOMEMLIMIT": "2GiB"}
	if studyMemory(withStudyMemory(context.Background(), func(k string) string { return env[k] })) != nil {
		t.Error("a MemoryLimit with GOMEMLIMIT set")
	}
}
