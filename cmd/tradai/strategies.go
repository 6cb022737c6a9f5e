package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/strategy"
)

func newStrategiesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "strategies",
		Short: "List the built-in strategies with their parameters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := strategy.Builtins()
			names := strategy.Names()
			if asJSON {
				var specs []any
				for _, n := range names {
					specs = append(specs, b[n].Spec())
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(specs)
			}
			w := newTable(cmd.OutOrStdout())
			fmt.Fprintln(w, "NAME\tTIMEFRAME\tSHORTS\tPARAMETERS\tDESCRIPTION")
			for _, n := range names {
				s := b[n].Spec()
				params := ""
				for i, p := range s.Params {
					if i > 0 {
						params += " "
					}
					params += fmt.Sprintf("%s=%v", p.Name, p.Default)
				}
				if params == "" {
					params = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\n", s.Name, s.Timeframe, s.CanShort, params, s.Description)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the full specs as JSON")
	return cmd
}
