package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry is one row of the audit log: who did what to which object.
type AuditEntry struct {
	Tenant string
	User   string // empty for the system (workers, maintenance)
	Action string // e.g. "run.create", "token.revoke"
	Target string // the object's id
	At     time.Time
	Detail any // encoded as JSON; nil is {}
}

// Audit writes e in tx, so the audit row commits or rolls back with the
// mutation it records.
func Audit(ctx context.Context, tx *Tx, e AuditEntry) error {
	detail := []byte("{}")
	if e.Detail != nil {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fmt.Errorf("audit %s: encode detail: %w", e.Action, err)
		}
	}
	var user any
	if e.User != "" {
		user = e.User
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (id, tenant_id, user_id, action, target, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		NewID("aud", e.At), e.Tenant, user, e.Action, e.Target, e.At.UnixMilli(), string(detail))
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}
