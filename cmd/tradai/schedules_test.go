package main

import (
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/client/clienttest"
)

// The schedules and challengers commands talk to the server: a bad cron
// is refused naming the field, the lists are empty, an unknown
// challenger is not found.
func TestSchedulesAndChallengersCommands(t *testing.T) {
	remoteEnv(t)
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true})
	remote := []string{"--remote", s.URL, "--home", s.Home}
	_, _, err := execute(t, append([]string{"schedules", "create", "--deployment", "dep_x", "--action", "refresh", "--cron", "0 * * *"}, remote...)...)
	if err == nil || !strings.Contains(err.Error(), "body.cron") {
		t.Fatalf("four-field cron: %v, want an error naming body.cron", err)
	}
	out, _, err := execute(t, append([]string{"schedules", "list"}, remote...)...)
	if err != nil || !strings.Contains(out, "ID") || strings.Contains(out, "sch_") {
		t.Fatalf("schedules list: %v\n%s", err, out)
	}
	out, _, err = execute(t, append([]string{"challengers", "list", "--json"}, remote...)...)
	if err != nil || !strings.Contains(out, `"challengers": []`) {
		t.Fatalf("challengers list: %v\n%s", err, out)
	}
	if _, _, err := execute(t, append([]string{"challengers", "approve", "chl_none"}, remote...)...); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("approve an unknown challenger: %v", err)
	}
}
