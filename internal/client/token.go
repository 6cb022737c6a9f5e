package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenEnv is the environment variable ResolveToken reads.
const TokenEnv = "TRADAI_TOKEN"

// ResolveToken finds the API token: flag when set, else $TRADAI_TOKEN,
// else the file <home>/token that "tradai serve" writes on its first start
// (surrounding whitespace trimmed). source says where it came from ("--token",
// "$TRADAI_TOKEN" or the file's path) for messages about a rejected token.
func ResolveToken(flag, home string) (token, source string, err error) {
	if t := strings.TrimSpace(flag); t != "" {
		return t, "--token", nil
	}
	if t := strings.TrimSpace(os.Getenv(TokenEnv)); t != "" {
		return t, "$" + TokenEnv, nil
	}
	if home == "" {
		return "", "", errors.New("no API token: pass --token or set " + TokenEnv)
	}
	path := filepath.Join(home, "token")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", "", fmt.Errorf("no API token: pass --token, set %s, or run tradai serve once to create %s", TokenEnv, path)
	case err != nil:
		return "", "", fmt.Errorf("read the API token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", "", fmt.Errorf("no API token: %s is empty; pass --token or set %s", path, TokenEnv)
	}
	return t, path, nil
}
