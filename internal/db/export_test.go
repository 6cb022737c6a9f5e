package db

// DialectMigrations exposes dialectMigrations to the tests.
var DialectMigrations = dialectMigrations
