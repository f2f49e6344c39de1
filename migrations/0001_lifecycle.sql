CREATE TABLE `customer_tombstones` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`created_at` text NOT NULL,
	`deleted_at` integer NOT NULL
);
--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_idempotency_keys` (
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`status` integer NOT NULL,
	`body` text,
	`headers` text DEFAULT '{}' NOT NULL,
	`resource_id` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `testmode`, `key`)
);
--> statement-breakpoint
INSERT INTO `__new_idempotency_keys`("account_id", "testmode", "key", "fingerprint", "status", "body", "created_at") SELECT "account_id", "testmode", "key", "fingerprint", "status", "body", "created_at" FROM `idempotency_keys`;--> statement-breakpoint
DROP TABLE `idempotency_keys`;--> statement-breakpoint
ALTER TABLE `__new_idempotency_keys` RENAME TO `idempotency_keys`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_at` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE INDEX `idempotency_keys_resource` ON `idempotency_keys` (`account_id`,`testmode`,`resource_id`);--> statement-breakpoint
ALTER TABLE `customers` ADD `name` text;--> statement-breakpoint
ALTER TABLE `customers` ADD `etag` text DEFAULT '' NOT NULL;--> statement-breakpoint
-- Existing customers get their first ETag (SQLite cannot add a column with a random default).
UPDATE `customers` SET `etag` = lower(hex(randomblob(12)));
