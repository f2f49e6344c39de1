ALTER TABLE `webhook_events` ADD `endpoint_id` text;--> statement-breakpoint
-- Events still waiting for delivery stay with the endpoint their account and mode has now (the one they were for,
-- unless it was replaced since: then they go nowhere rather than to a successor).
UPDATE `webhook_events` SET `endpoint_id` = (
  SELECT `id` FROM `webhook_endpoints` e
  WHERE e.`account_id` = `webhook_events`.`account_id` AND e.`testmode` = `webhook_events`.`testmode` AND e.`created_at` <= strftime('%Y-%m-%dT%H:%M:%SZ', `webhook_events`.`created_at` / 1000, 'unixepoch')
) WHERE `delivery` = 'pending';
