CREATE TABLE `webhook_attempts` (
	`event_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`at` integer NOT NULL,
	`url` text NOT NULL,
	`status` integer,
	`error` text,
	`duration_ms` integer NOT NULL,
	PRIMARY KEY(`event_id`, `attempt`)
);

CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`url` text NOT NULL,
	`secret` text NOT NULL,
	`previous_secret` text,
	`previous_secret_until` integer,
	`created_at` text NOT NULL
);

CREATE UNIQUE INDEX `webhook_endpoints_scope` ON `webhook_endpoints` (`account_id`,`testmode`);
CREATE TABLE `webhook_events` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`event_name` text NOT NULL,
	`entity_id` text NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	`delivery` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL
);

CREATE INDEX `webhook_events_scope_id` ON `webhook_events` (`account_id`,`testmode`,`id`);
CREATE INDEX `webhook_events_scope_name_id` ON `webhook_events` (`account_id`,`testmode`,`event_name`,`id`);
CREATE INDEX `webhook_events_entity` ON `webhook_events` (`account_id`,`testmode`,`entity_id`);
CREATE INDEX `webhook_events_created_at` ON `webhook_events` (`created_at`);
CREATE INDEX `webhook_events_due` ON `webhook_events` (`delivery`,`next_attempt_at`);
