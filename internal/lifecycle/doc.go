// Package lifecycle closes the loop on a deployed strategy: schedules
// (a tenant's cron jobs on one deployment, migration 00024) refresh its
// market data or re-optimise it, and a re-optimisation makes a
// challenger that is promoted over the champion only when it is better
// out of sample.
//
// A schedule's Spec names the deployment, the action (ActionRefresh:
// download the latest candles of its pairs; ActionReoptimise: a study on
// the latest window — one walk-forward step: optimise on the window, test
// out of sample on the holdout after it —, searching the parameters the
// version declares, not the risk settings its deployment's config holds)
// and a cron expression (five fields or a descriptor
// such as @daily, in UTC). Service.Tick, which the job queue's periodic
// job calls every minute (jobs.Options.Tick), fires the schedules that
// are due on the injected clock and moves every open challenger on; a
// submission's idempotency key is the schedule and its due time, so two
// ticks racing over one schedule submit one run.
//
// A challenger goes through states, one step per tick:
//
//	optimising  the study (WindowDays before the holdout) runs
//	backtesting its best trial is a new registry version (the study's
//	            export); champion and challenger are backtested beside
//	            each other over the holdout (the HoldoutDays up to the
//	            day the study was made), which the study never saw
//	pending     the challenger won (Judge: by more than Margin on Metric,
//	            and the study's deflated Sharpe ratio and probability of
//	            backtest overfitting did not say "likely overfit");
//	            an operator approves or rejects it (Approval "manual")
//	promoted    promoted to production in the registry (audited there),
//	            at once with Approval "auto", else on approval
//	rejected    it lost, looked overfit, or was rejected
//	failed      a step could not be done (the reason says which)
//
// Everything runs through the paths users have: the API's submissions
// (Submitter: *api.Server), the study store's export and overfitting
// figures, and the registry's Promote.
package lifecycle
