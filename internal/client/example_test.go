package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
)

// Submit a backtest to a local "tradai serve", follow it, and download its
// report. (Not run: it needs a server.)
func Example() {
	ctx := context.Background()
	home, _ := os.UserHomeDir()
	token, _, err := client.ResolveToken("", filepath.Join(home, ".tradai"))
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New("http://127.0.0.1:8080", token, client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	t, err := c.Submit(ctx, apitype.SubmitRequest{
		Strategy:  "rsi_bollinger",
		Timerange: "20180110-20180120",
		Config: map[string]any{
			"exchange":       map[string]any{"name": "binance", "pair_whitelist": []string{"ETH/BTC"}},
			"stake_currency": "BTC",
		},
	})
	var ae *client.Error
	if errors.As(err, &ae) && ae.Code == apitype.CodeInvalidRequest {
		log.Fatalf("the server rejected the backtest: %s", ae.Detail)
	} else if err != nil {
		log.Fatal(err)
	}
	run, err := c.Wait(ctx, t.RunID, func(r apitype.Run) { fmt.Printf("%s %.0f%%\n", r.Status, r.Progress*100) })
	if err != nil {
		log.Fatal(err)
	}
	if run.Status != client.Completed {
		log.Fatalf("run %s %s: %s", run.ID, run.Status, run.Error)
	}
	html, err := c.Artifact(ctx, run.ID, "report.html")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(html) > 0, c.URL(run.Links["report"]))
}
