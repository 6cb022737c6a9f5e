package simstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
)

// Account is a simulator account.
type Account struct {
	ID, Tenant, Name string
	CreatedAt        int64
}

// ErrNotFound is returned for an unknown account.
var ErrNotFound = errors.New("no such simulator account")

// ErrExists is returned when creating an account whose name the tenant
// already uses.
var ErrExists = errors.New("simulator account already exists")

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func newKey() string {
	var b [64]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = keyAlphabet[int(b[i])%len(keyAlphabet)]
	}
	return string(b[:])
}

// CreateAccount creates an empty account named name in tenant, with one API
// key whose secret is returned (and stored: the simulator needs it to check
// signatures).
func (s *Store) CreateAccount(ctx context.Context, tenant, name string) (binanceapi.Key, error) {
	if tenant == "" || name == "" {
		return binanceapi.Key{}, errors.New("create simulator account: a tenant and a name are needed")
	}
	now := s.clock.Now()
	id := db.NewID("sac", now)
	k := binanceapi.Key{APIKey: newKey(), Secret: newKey(), Account: id}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM sim_accounts WHERE tenant = ? AND name = ?`, tenant, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("create simulator account %s/%s: %w", tenant, name, ErrExists)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sim_accounts (id, tenant, name, created_at) VALUES (?, ?, ?, ?)`, id, tenant, name, now.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sim_api_keys (api_key, secret, account_id, created_at) VALUES (?, ?, ?, ?)`, k.APIKey, k.Secret, id, now.UnixMilli()); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: tenant, Action: "sim.account.create", Target: id, At: now, Detail: map[string]string{"name": name}})
	})
	if err != nil {
		if errors.Is(err, ErrExists) {
			return binanceapi.Key{}, err
		}
		return binanceapi.Key{}, fmt.Errorf("create simulator account %s/%s: %w", tenant, name, err)
	}
	return k, nil
}

// AccountByName finds tenant's account called name.
func (s *Store) AccountByName(ctx context.Context, tenant, name string) (Account, error) {
	var a Account
	err := s.db.QueryRow(ctx, `SELECT id, tenant, name, created_at FROM sim_accounts WHERE tenant = ? AND name = ?`, tenant, name).
		Scan(&a.ID, &a.Tenant, &a.Name, &a.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("simulator account %s/%s: %w", tenant, name, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("find simulator account %s/%s: %w", tenant, name, err)
	}
	return a, nil
}

// Fund adds amount (negative: takes it, down to the free balance) to the
// stored free balance of asset. It edits the database directly: use it
// while no simulator runs on this database (a running one has the admin
// endpoint POST /sim/v1/fund), or the running one's next save overwrites it.
func (s *Store) Fund(ctx context.Context, accountID, asset string, amount fixed.Dec) (sim.Balance, error) {
	var out sim.Balance
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var tenant string
		if err := tx.QueryRow(ctx, `SELECT tenant FROM sim_accounts WHERE id = ?`, accountID).Scan(&tenant); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("fund %s: %w", accountID, ErrNotFound)
		} else if err != nil {
			return err
		}
		var free, locked int64
		err := tx.QueryRow(ctx, `SELECT free, locked FROM sim_balances WHERE account_id = ? AND asset = ?`, accountID, asset).Scan(&free, &locked)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		nf, ok := fixed.AddOK(fixed.Dec(free), amount)
		if !ok || nf < 0 {
			return fmt.Errorf("fund %s with %v %s: the free balance %v would go negative or overflow", accountID, amount, asset, fixed.Dec(free))
		}
		now := s.clock.Now()
		if _, err := tx.Exec(ctx, `INSERT INTO sim_balances (account_id, asset, free, locked, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (account_id, asset) DO UPDATE SET free = excluded.free, updated_at = excluded.updated_at`,
			accountID, asset, int64(nf), locked, now.UnixMilli()); err != nil {
			return err
		}
		out = sim.Balance{Asset: asset, Free: nf, Locked: fixed.Dec(locked)}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: tenant, Action: "sim.account.fund", Target: accountID, At: now,
			Detail: map[string]string{"asset": asset, "amount": amount.String()}})
	})
	if err != nil {
		return sim.Balance{}, fmt.Errorf("fund simulator account: %w", err)
	}
	return out, nil
}

// Lookup implements binanceapi.Keys (cached: keys are never changed).
func (s *Store) Lookup(ctx context.Context, apiKey string) (binanceapi.Key, error) {
	s.keysMu.RLock()
	k, ok := s.keys[apiKey]
	s.keysMu.RUnlock()
	if ok {
		return k, nil
	}
	k = binanceapi.Key{APIKey: apiKey}
	err := s.db.QueryRow(ctx, `SELECT secret, account_id FROM sim_api_keys WHERE api_key = ?`, apiKey).Scan(&k.Secret, &k.Account)
	if errors.Is(err, sql.ErrNoRows) {
		return binanceapi.Key{}, binanceapi.ErrUnknownKey
	}
	if err != nil {
		return binanceapi.Key{}, fmt.Errorf("look up API key: %w", err)
	}
	s.keysMu.Lock()
	s.keys[apiKey] = k
	s.keysMu.Unlock()
	return k, nil
}

// Creator creates accounts in the store and in a running engine (for the
// admin endpoint POST /sim/v1/accounts).
type Creator struct {
	Store  *Store
	Engine *sim.Engine
}

// CreateAccount implements binanceapi.AccountCreator.
func (c Creator) CreateAccount(ctx context.Context, tenant, name string) (binanceapi.Key, error) {
	k, err := c.Store.CreateAccount(ctx, tenant, name)
	if err != nil {
		return k, err
	}
	if err := c.Engine.CreateAccount(k.Account); err != nil {
		return binanceapi.Key{}, err
	}
	return k, nil
}

// KeyOf returns the first API key of tenant's account named ref (its name,
// or its id sac_…): what a client of the simulator signs with. Another
// tenant's account is ErrNotFound.
func (s *Store) KeyOf(ctx context.Context, tenant, ref string) (binanceapi.Key, error) {
	var k binanceapi.Key
	err := s.db.QueryRow(ctx, `SELECT k.api_key, k.secret, k.account_id FROM sim_api_keys k JOIN sim_accounts a ON a.id = k.account_id
		WHERE a.tenant = ? AND (a.name = ? OR a.id = ?) ORDER BY k.created_at, k.api_key LIMIT 1`, tenant, ref, ref).Scan(&k.APIKey, &k.Secret, &k.Account)
	if errors.Is(err, sql.ErrNoRows) {
		return binanceapi.Key{}, fmt.Errorf("simulator account %s/%s: %w", tenant, ref, ErrNotFound)
	}
	if err != nil {
		return binanceapi.Key{}, fmt.Errorf("find the API key of simulator account %s/%s: %w", tenant, ref, err)
	}
	return k, nil
}
