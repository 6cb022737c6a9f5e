package s3store_test

import (
	"testing"

	"github.com/tradai/tradai/internal/objstore/objstoretest"
	"github.com/tradai/tradai/internal/objstore/s3store/s3storetest"
)

func TestConformance(t *testing.T) {
	for _, prefix := range []string{"", "team/artifacts"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			srv := s3storetest.Start(t, prefix)
			s := srv.Store(t)
			objstoretest.Run(t, func(t *testing.T) objstoretest.Backend {
				return objstoretest.Backend{Store: s, NoEmpty: "gofakes3 answers a zero-length PUT MissingContentLength", Tamper: func(t *testing.T, key string, content []byte) {
					name := key
					if prefix != "" {
						name = prefix + "/" + key
					}
					srv.Tamper(t, name, content)
				}}
			})
		})
	}
}
