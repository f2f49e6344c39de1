-- The merchant dashboard (src/dashboard/). Its one-time sign-in links and its sessions, on shard 0 (DB) only: they
-- are not account data (a move never copies them) and a session names the account's shard as a hint, as a key does.
-- Only the SHA-256 of a link or session token is stored; the token itself exists in the link and the cookie alone.
CREATE TABLE `dashboard_sessions` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL CHECK (`kind` IN ('link', 'session')),
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`shard` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dashboard_sessions_expires_at` ON `dashboard_sessions` (`expires_at`);
--> statement-breakpoint
-- Failed events of an account, newest first, for the dashboard's "failed" filter and for recover: a partial index,
-- written only when an event fails (never on the write path of a customer).
CREATE INDEX `webhook_events_failed` ON `webhook_events` (`account_id`, `testmode`, `id`) WHERE `delivery` = 'failed';
