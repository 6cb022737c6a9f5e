// Package accounts owns a tenant's venue accounts: the API key and secret
// a live deployment trades with, stored sealed (internal/secrets: a data
// key per account wrapped by the key-encryption key, which never enters
// the database) in the table venue_accounts. The store answers with
// Account (venue, name, fingerprint of the key), never with the key or the
// secret; Credentials opens them for the one caller that needs them, the
// runner's venue client. Credentials print, log and marshal as
// "[redacted]". Every change is audited (db.Audit: account.add,
// account.remove, account.kek.rotate). Another tenant's account is
// ErrNotFound.
//
// CheckBinance is the test-connection of a Binance(-compatible) key: it
// works, may trade, and may NOT withdraw. CheckHyperliquid is Hyperliquid's:
// the account's address (stored as the API key) and an API wallet's
// private key (the secret); the wallet must be an agent the account
// approved, which can trade and cannot withdraw.
package accounts
