// The API-key record in KV, defined once for the Worker, scripts/ and bench/. KV never holds a key, only its hash.
export type Mode = "test" | "live";

/** The value stored under `apikey:<sha256 hex of the key>`. */
export interface StoredKey {
  accountId: string;
  mode: Mode;
  createdAt: string;
  revokedAt?: string | null;
  /** The key's last 4 characters, so `key:list` can tell keys apart without storing them. */
  hint?: string;
  /**
   * The D1 shard of the account (absent: 0, every record written before sharding). A hint: the shard itself forwards
   * requests for an account it gave away (src/db/account-database.ts), so a stale record is never wrong, only slower.
   */
  shard?: number;
  /** Which tool made the key (`key:create`, `npm run dev`, `webhooks:listen`, ...), so `key:list` can say. */
  madeBy?: string;
}

export const KEY_PREFIX = "apikey:";
/** `revoked:<hash>` → the revocation time: written by key:revoke before the record, so no rewrite can lose it. */
export const REVOKED_PREFIX = "revoked:";
/** Index of an account's keys: `account:<id>:<hash>` → "1" (lets `key:list` find them without a scan of all keys). */
export const accountIndexKey = (accountId: string, hash: string) => `account:${accountId}:${hash}`;
export const API_KEY = /^(live|test)_[A-Za-z0-9]{32,}$/;
export const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;
