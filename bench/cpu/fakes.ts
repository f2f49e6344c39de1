// In-memory stand-ins for D1, KV, the rate limiter and the queue that answer like the real bindings with realistic
// rows, so the harness measures the Worker's own CPU and not the local simulators'. They serve both the current
// handler and the one from before the request-path redesign (bench/.out/before), whose SQL differs a little.
type Row = Record<string, unknown>;

export const customerRow = (i: number): Row => ({
  id: `cus_0Vc1jUg5${String(i).padStart(6, "0")}01234567`,
  testmode: 1,
  email: `customer${i}@example.com`,
  name: null,
  metadata: JSON.stringify({ plan: "pro", ref: `A-${i}` }),
  created_at: "2026-11-25T22:32:49Z",
  etag: "0123456789abcdef01234567",
});

class Statement {
  params: unknown[] = [];
  constructor(readonly db: FakeD1, readonly sql: string) {}
  bind(...params: unknown[]) {
    const s = new Statement(this.db, this.sql);
    s.params = params;
    return s;
  }
  // Each call from outside a batch is one round trip; a batch is one round trip in all.
  async first() {
    this.db.trip();
    return this.result().results[0] ?? null;
  }
  async all() {
    this.db.trip();
    return this.result();
  }
  async run() {
    this.db.trip();
    return this.result();
  }
  result() {
    // The first statements are enough to explain; an ever-growing log would add GC work that varies between runs.
    if (this.db.log.length < 64) this.db.log.push({ sql: this.sql, params: this.params });
    if (this.sql.startsWith('update "customers"')) return { results: [customerRow(1)], success: true, meta: { changes: 1 } };
    if (!this.sql.startsWith("select")) {
      this.db.write(this);
      return { results: [] as Row[], success: true, meta: { changes: 1 } };
    }
    return { results: this.db.rows(this), success: true, meta: { changes: 0 } };
  }
}

export class FakeD1 {
  idempotency = new Map<string, Row>();
  queries = 0;
  /** Round trips by where they go: the primary (writes, first-primary sessions) or a nearby replica (reads). */
  primaryTrips = 0;
  replicaTrips = 0;
  /** The session the next round trip belongs to (the harness runs one request at a time). */
  private onPrimary = true;
  /** The first statements sent, with their parameters (bench/run.ts explains them against real SQLite). */
  log: { sql: string; params: unknown[] }[] = [];
  /** Whether the account has a webhook endpoint (then every write's event is 'pending' and enqueued). */
  constructor(readonly endpoint = false) {}
  withSession(constraint?: string) {
    this.onPrimary = constraint === "first-primary";
    return this;
  }
  trip() {
    this.queries++;
    if (this.onPrimary) this.primaryTrips++;
    else this.replicaTrips++;
  }
  getBookmark() {
    return "00000000-00000001-00000000-00000000000000000000000000000000";
  }
  prepare(sql: string) {
    return new Statement(this, sql);
  }
  async batch(statements: Statement[]) {
    this.trip();
    return statements.map((s) => s.result());
  }
  rows(s: Statement): Row[] {
    if (s.sql.includes("account_moves")) return []; // no move: the account is where its key record says
    if (s.sql.includes('from "idempotency_keys"')) {
      const found = this.idempotency.get(`${s.params[0]}|${s.params[1]}|${s.params[2]}`);
      return found ? [found] : [];
    }
    if (s.sql.startsWith('select "delivery" from "webhook_events"')) return [{ delivery: this.endpoint ? "pending" : "none" }];
    if (s.sql.startsWith('select "id" from "customers"')) return [{ id: s.params.at(-1) }];
    if (s.sql.includes("limit")) return Array.from({ length: Number(s.params.at(-1)) }, (_, i) => customerRow(i));
    return [customerRow(1)];
  }
  write(s: Statement) {
    if (s.sql.startsWith('insert into "idempotency_keys"') && s.sql.includes("values")) {
      const [account, testmode, key, fingerprint, status, body] = s.params;
      this.idempotency.set(`${account}|${testmode}|${key}`, { fingerprint, status, body, headers: "{}" });
    }
  }
}

export class FakeKV {
  constructor(readonly values: Map<string, string>) {}
  async get(name: string, options?: { type?: string }) {
    const value = this.values.get(name) ?? null;
    return value !== null && options?.type === "json" ? JSON.parse(value) : value;
  }
}

export const allowAll = { limit: async () => ({ success: true }) };
export const fakeQueue = { send: async () => {}, sendBatch: async () => {} };
