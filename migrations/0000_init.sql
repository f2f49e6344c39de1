CREATE TABLE `customers` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`email` text NOT NULL,
	`metadata` text NOT NULL,
	`created_at` text NOT NULL
);

CREATE INDEX `customers_scope_id` ON `customers` (`account_id`,`testmode`,`id`);
CREATE UNIQUE INDEX `customers_scope_email` ON `customers` (`account_id`,`testmode`,lower("email"));
CREATE TABLE `idempotency_keys` (
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`status` integer NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `testmode`, `key`)
);

CREATE INDEX `idempotency_keys_created_at` ON `idempotency_keys` (`created_at`);
