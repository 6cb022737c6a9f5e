package apitype

import (
	"time"

	"github.com/tradai/tradai/sdk"
)

// StrategyVersion is one version in the strategy registry.
type StrategyVersion struct {
	Name      string            `json:"name"`
	Version   int               `json:"version"`
	Ref       string            `json:"ref" doc:"The exact reference, NAME@VERSION, to run it by"`
	SHA256    string            `json:"sha256" doc:"SHA-256 of the version's canonical archive (a deterministic tar of its files)"`
	Runtime   string            `json:"runtime" enum:"python,wasm"`
	Entry     string            `json:"entry" doc:"The file that is the strategy"`
	Spec      sdk.Spec          `json:"spec" doc:"What the code declared when started once: parameters with ranges, timeframe, startup candles, risk"`
	Author    string            `json:"author,omitempty" doc:"The user id that pushed it"`
	CreatedAt time.Time         `json:"created_at"`
	Message   string            `json:"message,omitempty"`
	Tags      map[string]string `json:"tags"`
	Stage     string            `json:"stage" enum:"none,staging,production,archived"`
	Size      int64             `json:"size" doc:"Bytes of its files"`
	Files     int               `json:"files"`
	Created   bool              `json:"created" doc:"In a push's answer: false when identical content was already this version"`
}

// StrategyVersionList is the answer of GET /api/v1/strategies/{name}/versions.
type StrategyVersionList struct {
	Versions []StrategyVersion `json:"versions" doc:"Oldest first"`
}

// StrategyDiff is what changed between two versions.
type StrategyDiff struct {
	From string `json:"from" doc:"NAME@VERSION"`
	To   string `json:"to" doc:"NAME@VERSION"`
	Code string `json:"code" doc:"Unified diff of the files; empty when they are the same"`
	Spec string `json:"spec" doc:"Unified diff of the declared specs as JSON; empty when they are the same"`
}

// PromoteRequest moves a version to a stage.
type PromoteRequest struct {
	Stage  string `json:"stage" enum:"none,staging,production,archived" doc:"Promoting to production archives the version that was there"`
	Reason string `json:"reason,omitempty" maxLength:"1000" doc:"Why, for the audit log"`
}

// RollbackRequest puts the previous production version back.
type RollbackRequest struct {
	Reason string `json:"reason,omitempty" maxLength:"1000" doc:"Why, for the audit log"`
}
