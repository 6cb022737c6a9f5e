package apitype

// Health is the liveness answer.
type Health struct {
	Status  string `json:"status" example:"ok"`
	Version string `json:"version"`
}

// Readiness is the readiness answer: each check's result, "ok" or why not.
type Readiness struct {
	Status string            `json:"status" enum:"ready,not_ready"`
	Checks map[string]string `json:"checks"`
}
