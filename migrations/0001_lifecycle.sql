CREATE TABLE `customer_tombstones` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`created_at` text NOT NULL,
	`deleted_at` integer NOT NULL
);

PRAGMA foreign_keys=OFF;
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

INSERT INTO `__new_idempotency_keys`("account_id", "testmode", "key", "fingerprint", "status", "body", "created_at") SELECT "account_id", "testmode", "key", "fingerprint", "status", "body", "created_at" FROM `idempotency_keys`;
DROP TABLE `idempotency_keys`;
ALTER TABLE `__new_idempotency_keys` RENAME TO `idempotency_keys`;
PRAGMA foreign_keys=ON;
CREATE INDEX `idempotency_keys_created_at` ON `idempotency_keys` (`created_at`);
CREATE INDEX `idempotency_keys_resource` ON `idempotency_keys` (`account_id`,`testmode`,`resource_id`);
ALTER TABLE `customers` ADD `name` text;
ALTER TABLE `customers` ADD `etag` text DEFAULT '' NOT NULL;

UPDATE `customers` SET `etag` = lower(hex(randomblob(12)));
