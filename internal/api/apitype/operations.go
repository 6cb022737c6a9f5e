package apitype

import "time"

// Operations is the state of the server's machinery across tenants, for
// its operators: the job queue, the workers' running runs, the runners,
// and the runs that failed.
type Operations struct {
	Now    time.Time    `json:"now" doc:"The server's time, for the ages below"`
	Queue  []QueueDepth `json:"queue" doc:"Jobs by kind and state (pairs without jobs are absent)"`
	Leader *QueueLeader `json:"leader,omitempty" doc:"The process running the queue's maintenance; absent when none is elected"`
	// Running are the runs the workers are working, with their heartbeats.
	Running  []OpsRun    `json:"running"`
	Runners  []RunnerRow `json:"runners" doc:"The runner processes holding deployments, from their leases"`
	Failures []OpsRun    `json:"failures" doc:"The latest failed and dead-lettered runs, most recent first"`
}

// QueueDepth is how many jobs of a kind are in a state.
type QueueDepth struct {
	Kind  string `json:"kind" example:"backtest"`
	State string `json:"state" example:"available"`
	Jobs  int    `json:"jobs"`
}

// QueueLeader is the queue's elected leader.
type QueueLeader struct {
	ID        string    `json:"id"`
	ElectedAt time.Time `json:"elected_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// OpsRun is a run of any tenant as the operators see it.
type OpsRun struct {
	ID          string     `json:"id"`
	Tenant      string     `json:"tenant"`
	Kind        string     `json:"kind"`
	Status      string     `json:"status"`
	Strategy    string     `json:"strategy"`
	Attempts    int        `json:"attempts"`
	Progress    float64    `json:"progress"`
	Error       string     `json:"error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	HeartbeatAt *time.Time `json:"heartbeat_at,omitempty" doc:"A running run's worker's last heartbeat"`
}

// RunnerRow is a runner process as its leases show it.
type RunnerRow struct {
	Name        string     `json:"name"`
	Deployments int        `json:"deployments" doc:"Deployments it holds"`
	HeartbeatAt *time.Time `json:"heartbeat_at,omitempty" doc:"Its latest lease renewal"`
	ExpiresAt   time.Time  `json:"expires_at" doc:"The earliest end of its leases: past means it stopped renewing"`
}
