CREATE TABLE `dashboard_sessions` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL CHECK (`kind` IN ('link', 'session')),
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`shard` integer NOT NULL,
	`expires_at` integer NOT NULL
);

CREATE INDEX `dashboard_sessions_expires_at` ON `dashboard_sessions` (`expires_at`);

CREATE INDEX `webhook_events_failed` ON `webhook_events` (`account_id`, `testmode`, `id`) WHERE `delivery` = 'failed';
