package apitype

import "time"

// AccountRequest is a venue account to store: its API key and secret are
// sealed at rest and never answered again.
type AccountRequest struct {
	Venue  string `json:"venue" enum:"binance,alpaca,hyperliquid,sim" doc:"The venue the key is for; sim: the platform's simulator (keys from tradai sim accounts create)"`
	Name   string `json:"name" minLength:"1" maxLength:"64" doc:"Your name for it: letters, digits, '.', '_' or '-'; a live deployment names it" example:"main"`
	APIKey string `json:"api_key" doc:"The venue's API key (sealed at rest; only its fingerprint is ever shown)"`
	Secret string `json:"secret" doc:"The key's secret (sealed at rest; never shown, never logged)"`
}

// Account is a stored venue account as the API shows it: never the key
// or the secret.
type Account struct {
	ID          string    `json:"id" example:"vac_01J…"`
	Venue       string    `json:"venue" enum:"binance,alpaca,hyperliquid,sim"`
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint" doc:"The first 8 hex digits of the SHA-256 of the API key: compare it with the key you hold"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by,omitempty" doc:"The user who added it"`
}

// AccountList is the tenant's accounts by name.
type AccountList struct {
	Accounts []Account `json:"accounts"`
}

// AccountTest is what a test-connection found.
type AccountTest struct {
	Account Account `json:"account"`
	OK      bool    `json:"ok" doc:"The key works, may trade and may not withdraw"`
	// CanTrade and CanWithdraw are what the venue reported (absent when
	// it could not be asked).
	CanTrade    *bool  `json:"can_trade,omitempty"`
	CanWithdraw *bool  `json:"can_withdraw,omitempty"`
	Message     string `json:"message" doc:"What was found, in words"`
}
