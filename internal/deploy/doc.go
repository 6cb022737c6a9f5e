// Package deploy is the deployment store: a strategy version trading
// continuously on a venue, in paper or live mode, kept in the platform
// database (migration 00016).
//
// A Deployment names its tenant, the strategy version as the registry
// records it (name, version number, code SHA-256), the mode, venue, venue
// account, pairs, timeframe and the config (Freqtrade's JSON keys). Its
// state moves along guarded transitions only:
//
//	starting ──► running ◄──► paused
//	   │            │            │
//	   └────────────┴────────────┴──► stopped | failed
//
// A deployment is held by one runner at a time through a Lease: the runner
// that holds it, until when, and a fencing token that grows by one on
// every acquisition. Acquire hands a runner the deployments whose lease is
// unheld or expired (SKIP LOCKED on PostgreSQL, so several runners take
// different ones; SQLite has one writer); Renew is the heartbeat. Every
// write a runner makes for its deployment — orders, fills, trades, equity
// points, logs, the runner's state changes — goes through a Lease and
// checks its token in the same transaction: a runner whose lease was taken
// over fails with ErrFenced and changes nothing. The runners' writes are
// committed in groups, each write as if alone (commit.go); a tick's
// bookkeeping (RecordLater) does not wait for its commit while a group is
// being committed.
//
// Orders carry deterministic client order ids (ClientOrderID: deployment,
// trade, leg, attempt), so a runner that lost an answer looks its order up
// instead of sending it again. Times come from the injected clock.
package deploy
