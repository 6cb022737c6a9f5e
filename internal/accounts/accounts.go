package accounts

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/tenancy"
)

// The venues an account may be for.
const (
	Binance     = "binance"
	Alpaca      = "alpaca"
	Hyperliquid = "hyperliquid"
	Sim         = "sim" // the platform's simulator (tradai sim accounts create gives its keys)
)

// Venues lists the venues in the order help shows them.
var venues = []string{Binance, Alpaca, Hyperliquid, Sim}

// Venues is the list of venues an account may be for.
func Venues() []string { return append([]string(nil), venues...) }

var (
	// ErrNotFound is returned for an account the tenant does not have.
	ErrNotFound = errors.New("no such account")
	// ErrExists is returned when the tenant already has an account of
	// that name.
	ErrExists = errors.New("an account of that name exists")
	// ErrInvalid marks a bad venue, name or credentials.
	ErrInvalid = errors.New("invalid account")
)

// Account is what is shown of a venue account: never its key or secret.
type Account struct {
	ID, Tenant, Venue, Name string
	// Fingerprint is secrets.Fingerprint of the API key.
	Fingerprint string
	// KEK is the id of the key-encryption key it is sealed under.
	KEK       string
	Created   time.Time
	CreatedBy string // user id; empty for the system
}

// Credentials are an account's API key and secret. They print, log and
// marshal as "[redacted]".
type Credentials struct {
	APIKey, Secret string
}

const redacted = "[redacted]"

func (Credentials) String() string                  { return redacted }
func (Credentials) GoString() string                { return redacted }
func (Credentials) LogValue() slog.Value            { return slog.StringValue(redacted) }
func (Credentials) MarshalJSON() ([]byte, error)    { return json.Marshal(redacted) }
func (Credentials) MarshalText() ([]byte, error)    { return []byte(redacted), nil }
func (c Credentials) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, redacted) }

// maxCredential bounds a key or a secret (Binance's are 64 characters,
// Hyperliquid's private key 66).
const maxCredential = 512

// ReadCredentials reads an API key and its secret from r: the first two
// non-empty lines (surrounding space trimmed), so that they come from a
// file or a pipe, never from a command line that lands in shell history.
func ReadCredentials(r io.Reader) (Credentials, error) {
	sc := bufio.NewScanner(io.LimitReader(r, 64<<10))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	var lines []string
	for sc.Scan() && len(lines) < 2 {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return Credentials{}, fmt.Errorf("read the API key and secret: %w", err)
	}
	if len(lines) < 2 {
		return Credentials{}, fmt.Errorf("%w: want the API key on the first line and the secret on the second, got %d line(s)", ErrInvalid, len(lines))
	}
	c := Credentials{APIKey: lines[0], Secret: lines[1]}
	return c, c.check()
}

func (c Credentials) check() error {
	if err := CheckCredential(c.APIKey); err != nil {
		return fmt.Errorf("the API key: %w", err)
	}
	if err := CheckCredential(c.Secret); err != nil {
		return fmt.Errorf("the secret: %w", err)
	}
	return nil
}

// CheckCredential checks an API key or secret: 1 to 512 printable ASCII
// characters without spaces. The error never shows it.
func CheckCredential(v string) error {
	if v == "" || len(v) > maxCredential {
		return fmt.Errorf("%w: want 1 to %d characters", ErrInvalid, maxCredential)
	}
	if strings.IndexFunc(v, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0 {
		return fmt.Errorf("%w: want printable ASCII without spaces", ErrInvalid)
	}
	return nil
}

// CheckVenue checks venue is one an account may be for.
func CheckVenue(venue string) error {
	for _, v := range venues {
		if v == venue {
			return nil
		}
	}
	return fmt.Errorf("%w: venue %q: want one of %s", ErrInvalid, venue, strings.Join(venues, ", "))
}

const idPrefix = "vac"

// CheckName checks an account name: 1 to 64 letters, digits, '.', '_' or
// '-', not starting like an id.
func CheckName(name string) error {
	if name == "" || len(name) > 64 || strings.HasPrefix(name, idPrefix+"_") ||
		strings.IndexFunc(name, func(r rune) bool {
			return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-'))
		}) >= 0 {
		return fmt.Errorf("%w: name %q: want 1 to 64 letters, digits, '.', '_' or '-' (not starting with %s_)", ErrInvalid, name, idPrefix)
	}
	return nil
}

// Config is what a Store needs.
type Config struct {
	DB *db.DB
	// KEK seals and opens credentials; nil: listing, showing and removing
	// work, adding and opening answer secrets.ErrNoKEK.
	KEK   *secrets.KEK
	Clock clock.Clock // (the system clock)
	Log   *slog.Logger
}

// Store is the venue accounts of every tenant.
type Store struct {
	db  *db.DB
	kek *secrets.KEK
	clk clock.Clock
	log *slog.Logger
}

// New returns the store over cfg.
func New(cfg Config) (*Store, error) {
	if cfg.DB == nil {
		return nil, errors.New("accounts: a database is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Store{db: cfg.DB, kek: cfg.KEK, clk: clock.Or(cfg.Clock), log: cfg.Log}, nil
}

// sealed is what the sealed value holds.
type sealed struct {
	K string `json:"k"`
	S string `json:"s"`
}

// ad binds a sealed value to its row.
func ad(tenant, id string) []byte { return []byte("venue_accounts\x00" + tenant + "\x00" + id) }

func (s *Store) needKEK() error {
	if s.kek == nil {
		return secrets.ErrNoKEK
	}
	return nil
}

// Add stores tenant p's new account name on venue with c, sealed.
func (s *Store) Add(ctx context.Context, p tenancy.Principal, venue, name string, c Credentials) (Account, error) {
	if err := s.needKEK(); err != nil {
		return Account{}, fmt.Errorf("add account %s: %w", name, err)
	}
	if err := CheckVenue(venue); err != nil {
		return Account{}, err
	}
	if err := CheckName(name); err != nil {
		return Account{}, err
	}
	if err := c.check(); err != nil {
		return Account{}, err
	}
	now := s.clk.Now()
	a := Account{ID: db.NewID(idPrefix, now), Tenant: p.Tenant, Venue: venue, Name: name, Fingerprint: secrets.Fingerprint(c.APIKey),
		KEK: s.kek.ID(), Created: time.UnixMilli(now.UnixMilli()).UTC(), CreatedBy: p.User}
	plain, err := json.Marshal(sealed{K: c.APIKey, S: c.Secret})
	if err != nil {
		return Account{}, fmt.Errorf("add account %s: %w", name, err)
	}
	box := s.kek.Seal(plain, ad(a.Tenant, a.ID))
	clear(plain)
	var by any
	if p.User != "" {
		by = p.User
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM venue_accounts WHERE tenant_id = ? AND name = ?`, a.Tenant, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrExists
		}
		if _, err := tx.Exec(ctx, `INSERT INTO venue_accounts (id, tenant_id, venue, name, fingerprint, kek_id, sealed, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.Tenant, venue, name, a.Fingerprint, a.KEK, box, now.UnixMilli(), by); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: a.Tenant, User: p.User, Action: "account.add", Target: a.ID, At: now,
			Detail: map[string]string{"venue": venue, "name": name, "fingerprint": a.Fingerprint}})
	})
	if err != nil {
		return Account{}, fmt.Errorf("add account %s: %w", name, err)
	}
	s.log.Info("venue account added", "tenant", a.Tenant, "account", a.ID, "venue", venue, "name", name, "fingerprint", a.Fingerprint)
	return a, nil
}

const columns = `id, tenant_id, venue, name, fingerprint, kek_id, created_at, created_by`

func scan(r db.Scanner, extra ...any) (Account, error) {
	var (
		a  Account
		at int64
		by sql.NullString
	)
	err := r.Scan(append([]any{&a.ID, &a.Tenant, &a.Venue, &a.Name, &a.Fingerprint, &a.KEK, &at, &by}, extra...)...)
	a.Created, a.CreatedBy = time.UnixMilli(at).UTC(), by.String
	return a, err
}

// List is tenant's accounts by name.
func (s *Store) List(ctx context.Context, tenant string) ([]Account, error) {
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (Account, error) { return scan(r) },
		`SELECT `+columns+` FROM venue_accounts WHERE tenant_id = ? ORDER BY name`, tenant)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	if out == nil {
		out = []Account{} // an empty list, not none
	}
	return out, nil
}

// get reads tenant's account ref (name or id) and its sealed value.
func (s *Store) get(ctx context.Context, tenant, ref string) (Account, string, error) {
	var box string
	a, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+`, sealed FROM venue_accounts WHERE tenant_id = ? AND (id = ? OR name = ?)`, tenant, ref, ref), &box)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, "", fmt.Errorf("account %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return Account{}, "", fmt.Errorf("read account %s: %w", ref, err)
	}
	return a, box, nil
}

// Get is tenant's account ref (its name or id).
func (s *Store) Get(ctx context.Context, tenant, ref string) (Account, error) {
	a, _, err := s.get(ctx, tenant, ref)
	return a, err
}

// Credentials opens tenant's account ref: for the venue client only.
func (s *Store) Credentials(ctx context.Context, tenant, ref string) (Account, Credentials, error) {
	if err := s.needKEK(); err != nil {
		return Account{}, Credentials{}, fmt.Errorf("open account %s: %w", ref, err)
	}
	a, box, err := s.get(ctx, tenant, ref)
	if err != nil {
		return Account{}, Credentials{}, err
	}
	plain, err := s.kek.Open(box, ad(a.Tenant, a.ID))
	if err != nil {
		return Account{}, Credentials{}, fmt.Errorf("open account %s: %w", a.Name, err)
	}
	defer clear(plain)
	var v sealed
	if err := json.Unmarshal(plain, &v); err != nil {
		return Account{}, Credentials{}, fmt.Errorf("open account %s: %w", a.Name, secrets.ErrCorrupt)
	}
	return a, Credentials{APIKey: v.K, Secret: v.S}, nil
}

// Remove deletes tenant p's account ref. Deployments that name it fail
// when their runner next opens the venue.
func (s *Store) Remove(ctx context.Context, p tenancy.Principal, ref string) (Account, error) {
	var a Account
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		a, err = scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM venue_accounts WHERE tenant_id = ? AND (id = ? OR name = ?)`, p.Tenant, ref, ref))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %s: %w", ref, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM venue_accounts WHERE id = ?`, a.ID); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "account.remove", Target: a.ID, At: s.clk.Now(),
			Detail: map[string]string{"venue": a.Venue, "name": a.Name, "fingerprint": a.Fingerprint}})
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Account{}, err
		}
		return Account{}, fmt.Errorf("remove account %s: %w", ref, err)
	}
	s.log.Info("venue account removed", "tenant", p.Tenant, "account", a.ID, "name", a.Name)
	return a, nil
}

// Rotation is what Rotate did.
type Rotation struct {
	Rewrapped int // accounts moved from the old KEK to the new one
	Already   int // accounts already under the new KEK (a rotation run again)
}

// Rotate re-wraps every account's data key (every tenant's) from old to
// next in one transaction: all accounts move, or none does (one that opens
// with neither KEK fails it). The credentials' ciphertext is kept. Run it
// again after an interruption: accounts already under next are counted,
// not touched. Afterwards the store holds only next (give it to every
// process); old is needed no more.
func (s *Store) Rotate(ctx context.Context, old, next *secrets.KEK) (Rotation, error) {
	if old == nil || next == nil {
		return Rotation{}, fmt.Errorf("rotate the key-encryption key: %w", secrets.ErrNoKEK)
	}
	if old.ID() == next.ID() {
		return Rotation{}, errors.New("rotate the key-encryption key: the new key is the old one")
	}
	var r Rotation
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		type row struct{ id, tenant, name, kek, box string }
		all, err := db.Collect(ctx, tx, func(r db.Scanner) (row, error) {
			var x row
			err := r.Scan(&x.id, &x.tenant, &x.name, &x.kek, &x.box)
			return x, err
		}, `SELECT id, tenant_id, name, kek_id, sealed FROM venue_accounts ORDER BY id`)
		if err != nil {
			return err
		}
		now := s.clk.Now()
		for _, x := range all {
			if x.kek == next.ID() {
				r.Already++
				continue
			}
			box, err := secrets.Rewrap(old, next, x.box, ad(x.tenant, x.id))
			if err != nil {
				return fmt.Errorf("account %s (%s) of tenant %s: %w", x.name, x.id, x.tenant, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE venue_accounts SET sealed = ?, kek_id = ? WHERE id = ?`, box, next.ID(), x.id); err != nil {
				return err
			}
			if err := db.Audit(ctx, tx, db.AuditEntry{Tenant: x.tenant, Action: "account.kek.rotate", Target: x.id, At: now,
				Detail: map[string]string{"from": old.ID(), "to": next.ID()}}); err != nil {
				return err
			}
			r.Rewrapped++
		}
		return nil
	})
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate the key-encryption key (nothing changed): %w", err)
	}
	s.log.Info("key-encryption key rotated", "from", old.ID(), "to", next.ID(), "rewrapped", r.Rewrapped, "already", r.Already)
	return r, nil
}
