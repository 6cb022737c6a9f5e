package s3store

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Config is where the store keeps objects: what an s3:// URL says.
type Config struct {
	Bucket string
	// Prefix starts every key (no leading or trailing "/"; may be empty).
	Prefix string
	// Endpoint is the server's host or host:port (default s3.amazonaws.com).
	Endpoint string
	// Region is the bucket's region (empty: asked of the server).
	Region string
	// Secure: HTTPS (the default); false for plain HTTP.
	Secure bool
	// MaxRetries bounds the attempts of each request (0: minio-go's
	// default, 10).
	MaxRetries int
}

// DefaultEndpoint is Amazon S3's.
const DefaultEndpoint = "s3.amazonaws.com"

// ParseURL reads s3://bucket/prefix?endpoint=host:port&region=r&secure=false.
// Credentials never belong in the URL: a URL carrying a user or password
// is refused, and no error repeats them.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's errors quote the whole URL, password included.
		return Config{}, errors.New("not a URL of the form s3://bucket/prefix?endpoint=host:port&region=REGION&secure=false")
	}
	if u.User != nil {
		return Config{}, errors.New("the URL holds credentials: leave them out and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a credentials file")
	}
	if u.Scheme != "s3" {
		return Config{}, fmt.Errorf("scheme %q: want s3://bucket/prefix", u.Scheme)
	}
	if u.Opaque != "" || u.Fragment != "" || u.RawFragment != "" {
		return Config{}, errors.New("not a URL of the form s3://bucket/prefix")
	}
	c := Config{Bucket: u.Host, Endpoint: DefaultEndpoint, Secure: true}
	if err := checkBucket(c.Bucket); err != nil {
		return Config{}, err
	}
	c.Prefix = strings.Trim(u.Path, "/")
	for seg := range strings.SplitSeq(c.Prefix, "/") {
		if c.Prefix != "" && (seg == "" || seg == "." || seg == "..") {
			return Config{}, fmt.Errorf("prefix %q: has an empty, . or .. segment", c.Prefix)
		}
	}
	if strings.ContainsFunc(c.Prefix, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Config{}, fmt.Errorf("prefix %q: holds a control character", c.Prefix)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, fmt.Errorf("query %q: %w", u.RawQuery, err)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	}) {
		v := q[k]
		if len(v) != 1 {
			return Config{}, fmt.Errorf("query parameter %q given %d times", k, len(v))
		}
		switch k {
		case "endpoint":
			host, port, err := net.SplitHostPort(v[0])
			if err != nil {
				host, port = v[0], ""
			}
			if host == "" || strings.ContainsAny(host, "/?#@[] ") || strings.ContainsFunc(host, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) {
				return Config{}, fmt.Errorf("endpoint %q: want host or host:port", v[0])
			}
			if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535) {
				return Config{}, fmt.Errorf("endpoint %q: port is not 1-65535", v[0])
			}
			c.Endpoint = v[0]
		case "region":
			if v[0] == "" || strings.ContainsFunc(v[0], func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
			}) {
				return Config{}, fmt.Errorf("region %q: want lower-case letters, digits and hyphens", v[0])
			}
			c.Region = v[0]
		case "secure":
			b, err := strconv.ParseBool(v[0])
			if err != nil {
				return Config{}, fmt.Errorf("secure %q: want true or false", v[0])
			}
			c.Secure = b
		default:
			return Config{}, fmt.Errorf("unknown query parameter %q (known: endpoint, region, secure)", k)
		}
	}
	return c, nil
}

// checkBucket applies S3's bucket naming rules: 3 to 63 lower-case
// letters, digits, dots and hyphens, starting and ending with a letter
// or digit.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket %q: want 3 to 63 characters (s3://bucket/prefix)", b)
	}
	for i, r := range b {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || i == len(b)-1 || r != '.' && r != '-') {
			return fmt.Errorf("bucket %q: want lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit", b)
		}
	}
	return nil
}

// String is the URL c was read from, in canonical form.
func (c Config) String() string {
	u := url.URL{Scheme: "s3", Host: c.Bucket, Path: "/" + c.Prefix}
	q := url.Values{}
	q.Set("endpoint", c.Endpoint)
	if c.Region != "" {
		q.Set("region", c.Region)
	}
	if !c.Secure {
		q.Set("secure", "false")
	}
	u.RawQuery = q.Encode()
	return u.String()
}
