ALTER TABLE `webhook_events` ADD `endpoint_id` text;

UPDATE `webhook_events` SET `endpoint_id` = (
  SELECT `id` FROM `webhook_endpoints` e
  WHERE e.`account_id` = `webhook_events`.`account_id` AND e.`testmode` = `webhook_events`.`testmode` AND e.`created_at` <= strftime('%Y-%m-%dT%H:%M:%SZ', `webhook_events`.`created_at` / 1000, 'unixepoch')
) WHERE `delivery` = 'pending';
