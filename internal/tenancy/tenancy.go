// Package tenancy keeps TradAI's tenants, users and API tokens. A token is
// 32 random bytes shown once as `tdi_` + base64url; only its SHA-256 is
// stored, so the database never holds anything that authenticates.
package tenancy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
)

// TokenPrefix starts every TradAI API token.
const TokenPrefix = "tdi_"

var (
	// ErrUnauthenticated is returned for a token that is unknown, malformed
	// or revoked; callers cannot tell which.
	ErrUnauthenticated = errors.New("invalid or revoked API token")
	// ErrNotFound is returned for a user or token that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists is returned when creating a user whose name is taken.
	ErrExists = errors.New("already exists")
)

// Principal is who a request acts as.
type Principal struct {
	Tenant string // tenant id
	User   string // user id; empty for the system
}

// User is a person or service account in a tenant.
type User struct {
	ID, Tenant, Name string
	Created          time.Time
}

// Token describes an API token; it never holds the token itself.
type Token struct {
	ID      string
	User    string
	Prefix  string // the first characters of the token, for display
	Created time.Time
	LastUse time.Time // zero when never used
	Revoked time.Time // zero while valid
}

// Store keeps users and tokens in a database.
type Store struct {
	db    *db.DB
	clock clock.Clock
	log   *slog.Logger

	mu sync.Mutex
	// recorded is when this process last tried to record each token's use
	// (by token id; bounded by the number of valid tokens).
	recorded map[string]time.Time
}

// New returns a Store on d; clk is the clock (nil: the system clock).
func New(d *db.DB, clk clock.Clock, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{db: d, clock: clock.Or(clk), log: log, recorded: map[string]time.Time{}}
}

// CreateUser creates the user name in tenant (created when missing) and
// records it in the audit log. User names are unique across tenants.
func (s *Store) CreateUser(ctx context.Context, name, tenant string) (User, error) {
	name, tenant = strings.TrimSpace(name), strings.TrimSpace(tenant)
	if name == "" || tenant == "" {
		return User{}, errors.New("create user: the user name and tenant name must not be empty")
	}
	now := s.clock.Now()
	u := User{ID: db.NewID("usr", now), Name: name, Created: now}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id FROM tenants WHERE name = ?`, tenant).Scan(&u.Tenant)
		if errors.Is(err, sql.ErrNoRows) {
			u.Tenant = db.NewID("ten", now)
			if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`, u.Tenant, tenant, now.UnixMilli()); err != nil {
				return fmt.Errorf("create tenant %q: %w", tenant, err)
			}
			if err := db.Audit(ctx, tx, db.AuditEntry{Tenant: u.Tenant, Action: "tenant.create", Target: u.Tenant, At: now, Detail: map[string]string{"name": tenant}}); err != nil {
				return err
			}
		} else if err != nil {
			return fmt.Errorf("look up tenant %q: %w", tenant, err)
		}
		var taken int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE name = ?`, name).Scan(&taken); err != nil {
			return fmt.Errorf("look up user %q: %w", name, err)
		}
		if taken > 0 {
			return fmt.Errorf("user %q: %w", name, ErrExists)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, name, created_at) VALUES (?, ?, ?, ?)`, u.ID, u.Tenant, name, now.UnixMilli()); err != nil {
			return fmt.Errorf("insert user %q: %w", name, err)
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: u.Tenant, Action: "user.create", Target: u.ID, At: now, Detail: map[string]string{"name": name, "tenant": tenant}})
	})
	if err != nil {
		return User{}, fmt.Errorf("create user %q: %w", name, err)
	}
	return u, nil
}

// Bootstrap makes a database usable at first start: when it has no users
// yet, it creates the user admin in the tenant default and returns a token
// for it (created = true). Otherwise, or when another process bootstraps
// at the same moment, it does nothing.
func (s *Store) Bootstrap(ctx context.Context) (token string, created bool, err error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return "", false, fmt.Errorf("bootstrap: count users: %w", err)
	}
	if n > 0 {
		return "", false, nil
	}
	u, err := s.CreateUser(ctx, "admin", "default")
	if errors.Is(err, ErrExists) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	token, _, err = s.CreateToken(ctx, u.ID)
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	return token, true, nil
}

// UserByName finds a user.
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	var u User
	var created int64
	err := s.db.QueryRow(ctx, `SELECT id, tenant_id, name, created_at FROM users WHERE name = ?`, name).Scan(&u.ID, &u.Tenant, &u.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("look up user %q: %w", name, err)
	}
	u.Created = time.UnixMilli(created)
	return u, nil
}

func hashToken(plaintext string) string {
	h := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(h[:])
}

// CreateToken makes a new API token for user (an id) and returns its
// plaintext — the only time it is ever available — and its description.
func (s *Store) CreateToken(ctx context.Context, userID string) (string, Token, error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", Token{}, fmt.Errorf("create token: read random bytes: %w", err)
	}
	plaintext := TokenPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	now := s.clock.Now()
	tok := Token{ID: db.NewID("tok", now), User: userID, Prefix: plaintext[:len(TokenPrefix)+6], Created: now}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var tenant string
		err := tx.QueryRow(ctx, `SELECT tenant_id FROM users WHERE id = ?`, userID).Scan(&tenant)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %s: %w", userID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("look up user %s: %w", userID, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, user_id, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)`,
			tok.ID, userID, hashToken(plaintext), tok.Prefix, now.UnixMilli()); err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: tenant, User: userID, Action: "token.create", Target: tok.ID, At: now, Detail: map[string]string{"prefix": tok.Prefix}})
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	return plaintext, tok, nil
}

// Authenticate returns who plaintext acts as, and records the token's use
// (at most once a minute). Recording is best effort: when the database
// cannot write (a full disk), the failure is logged and the token still
// authenticates, so reads keep working.
// The token is looked up by its SHA-256, never compared as a secret, so the
// lookup's timing tells nothing about valid tokens; the stored hash is
// still compared in constant time.
func (s *Store) Authenticate(ctx context.Context, plaintext string) (Principal, error) {
	if !strings.HasPrefix(plaintext, TokenPrefix) {
		return Principal{}, ErrUnauthenticated
	}
	want := hashToken(plaintext)
	var (
		p       Principal
		id      string
		got     string
		revoked sql.NullInt64
		used    sql.NullInt64
	)
	err := s.db.QueryRow(ctx, `SELECT t.id, t.token_hash, t.revoked_at, t.last_used_at, u.id, u.tenant_id FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, want).
		Scan(&id, &got, &revoked, &used, &p.User, &p.Tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: look up token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 || revoked.Valid {
		return Principal{}, ErrUnauthenticated
	}
	s.recordUse(ctx, id, used)
	return p, nil
}

// recordUse records a use of token id now, unless it was recorded (or
// tried, by this process) less than a minute ago: a write per request
// would make every read of the API a write to the database, and a retry
// per request would flood a failing one.
func (s *Store) recordUse(ctx context.Context, id string, used sql.NullInt64) {
	now := s.clock.Now()
	if used.Valid && now.UnixMilli()-used.Int64 < time.Minute.Milliseconds() {
		return
	}
	s.mu.Lock()
	if last, ok := s.recorded[id]; ok && now.Sub(last) < time.Minute {
		s.mu.Unlock()
		return
	}
	s.recorded[id] = now
	s.mu.Unlock()
	if _, err := s.db.Exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now.UnixMilli(), id); err != nil {
		s.log.Warn("cannot record an API token's use; it still authenticates", "token", id, "err", err)
	}
}

// RevokeToken revokes a token of the principal's tenant; revoking twice is
// harmless. A token of another tenant is ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, p Principal, tokenID string) error {
	now := s.clock.Now()
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var revoked sql.NullInt64
		err := tx.QueryRow(ctx, `SELECT t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ? AND u.tenant_id = ?`, tokenID, p.Tenant).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("token %s: %w", tokenID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("look up token %s: %w", tokenID, err)
		}
		if revoked.Valid {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ?`, now.UnixMilli(), tokenID); err != nil {
			return fmt.Errorf("update token %s: %w", tokenID, err)
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "token.revoke", Target: tokenID, At: now})
	})
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// Tokens lists a user's tokens, newest first.
func (s *Store) Tokens(ctx context.Context, userID string) ([]Token, error) {
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (Token, error) {
		var t Token
		var created int64
		var used, revoked sql.NullInt64
		err := r.Scan(&t.ID, &t.User, &t.Prefix, &created, &used, &revoked)
		t.Created = time.UnixMilli(created)
		if used.Valid {
			t.LastUse = time.UnixMilli(used.Int64)
		}
		if revoked.Valid {
			t.Revoked = time.UnixMilli(revoked.Int64)
		}
		return t, err
	}, `SELECT id, user_id, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}
