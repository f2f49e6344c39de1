// The client: `new Vatly({ apiKey })`, then `vatly.customers`, `vatly.webhookEndpoints`, `vatly.webhookEvents`, and
// `verifyWebhook()` for deliveries. Types come from the API's own OpenAPI document (src/openapi.d.ts, generated at
// build time by `npm run client:build`), so they cannot drift from the server.
import { PreconditionFailedError } from "./errors.js";
import { Http, type CallOptions, type ClientOptions } from "./http.js";
import type { components } from "./openapi.js";
import type { SearchQuery } from "./search.js";

export * from "./errors.js";
export { newIdempotencyKey, type CallOptions, type ClientOptions } from "./http.js";
export { verifyWebhook, type VerifyOptions } from "./webhooks.js";
export { q, quote, SearchQuery } from "./search.js";

type Schemas = components["schemas"];
export type Customer = Schemas["Customer"];
export type WebhookEndpoint = Schemas["WebhookEndpoint"];
export type WebhookEvent = Schemas["WebhookEvent"];
export type CreateCustomer = Schemas["CreateCustomerRequest"];
export type UpdateCustomer = Schemas["UpdateCustomerRequest"];
export type CreateWebhookEndpoint = Schemas["CreateWebhookEndpointRequest"];
export type UpdateWebhookEndpoint = Schemas["UpdateWebhookEndpointRequest"];

interface Envelope<T> {
  data: T[];
  count: number;
  links: { self: { href: string }; next: { href: string } | null; prev: { href: string } | null };
}

export interface ListParams {
  limit?: number;
  startingAfter?: string;
  endingBefore?: string;
}

/** One page of a list, with the pages beside it. */
export class Page<T> {
  constructor(private readonly http: Http, readonly data: T[], readonly links: Envelope<T>["links"]) {}
  get hasNext() {
    return this.links.next !== null;
  }
  get hasPrev() {
    return this.links.prev !== null;
  }
  /** The next (older) page, or null at the end. */
  next(): Promise<Page<T> | null> {
    return this.links.next ? fetchPage<T>(this.http, this.links.next.href) : Promise.resolve(null);
  }
  /** The previous (newer) page, or null at the start. */
  prev(): Promise<Page<T> | null> {
    return this.links.prev ? fetchPage<T>(this.http, this.links.prev.href) : Promise.resolve(null);
  }
}

/** A link the API gave, asked of the base URL this client uses (the server may name itself differently). */
function localPath(http: Http, href: string): string {
  const url = new URL(href, http.baseUrl);
  return `${url.pathname}${url.search}`;
}

async function fetchPage<T>(http: Http, href: string): Promise<Page<T>> {
  const { body } = await http.call<Envelope<T>>("GET", localPath(http, href));
  return new Page<T>(http, body.data, body.links);
}

const queryString = (params: Record<string, string | number | undefined>) => {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)]))}` : "";
};

/** Every item from a first page on, following `next` (or, with `backwards`, `prev`), fetched a page at a time. */
async function* walk<T>(first: Promise<Page<T>>, backwards: boolean): AsyncGenerator<T> {
  for (let page: Page<T> | null = await first; page; page = await (backwards ? page.prev() : page.next())) {
    yield* backwards ? [...page.data].reverse() : page.data;
  }
}

class Collection<T extends { id: string }, P extends ListParams> {
  constructor(protected readonly http: Http, protected readonly path: string) {}

  /** One page (`limit` 1 to 100, cursors by id). */
  page(params: P = {} as P): Promise<Page<T>> {
    return fetchPage<T>(this.http, `${this.path}${queryString(params as unknown as Record<string, string | number | undefined>)}`);
  }

  /**
   * Every item, newest first, as an async iterator that fetches pages as it goes. `{ backwards: true }` walks from
   * `endingBefore` (or the given page) towards the newest, oldest first.
   */
  list(params: P & { backwards?: boolean } = {} as P & { backwards?: boolean }): AsyncGenerator<T> {
    const { backwards = false, ...rest } = params;
    return walk(this.page(rest as P), backwards);
  }

  async retrieve(id: string): Promise<T> {
    return (await this.http.call<T>("GET", `${this.path}/${encodeURIComponent(id)}`)).body;
  }

  async del(id: string, options: CallOptions = {}): Promise<void> {
    await this.http.call("DELETE", `${this.path}/${encodeURIComponent(id)}`, undefined, options);
  }
}

export class Customers extends Collection<Customer, ListParams & { email?: string }> {
  constructor(http: Http) {
    super(http, "/v1/customers");
  }

  async create(params: CreateCustomer, options: CallOptions = {}): Promise<Customer> {
    return (await this.http.call<Customer>("POST", this.path, params, options)).body;
  }

  /** The customer and its current ETag (for `update(..., { ifMatch })`). */
  async retrieveWithEtag(id: string): Promise<{ customer: Customer; etag: string }> {
    const answer = await this.http.call<Customer>("GET", `${this.path}/${encodeURIComponent(id)}`);
    return { customer: answer.body, etag: answer.headers.get("ETag") ?? "" };
  }

  /** A partial update: metadata is merged key by key (null removes a key). `ifMatch` makes it fail with 412 if changed. */
  async update(id: string, changes: UpdateCustomer, options: CallOptions = {}): Promise<Customer> {
    return (await this.http.call<Customer>("PATCH", `${this.path}/${encodeURIComponent(id)}`, changes, options)).body;
  }

  /**
   * Reads the customer, applies `change` to it, and writes the result only if nobody changed it meanwhile; on a 412 it
   * reads again and retries (at most `attempts` times).
   */
  async modify(id: string, change: (customer: Customer) => UpdateCustomer, attempts = 5): Promise<Customer> {
    for (let attempt = 1; ; attempt++) {
      const { customer, etag } = await this.retrieveWithEtag(id);
      try {
        return await this.update(id, change(customer), { ifMatch: etag });
      } catch (err) {
        if (!(err instanceof PreconditionFailedError) || attempt >= attempts) throw err;
      }
    }
  }

  /**
   * Every customer a search finds, newest first, as an async iterator that follows the pages (`limit`: page size).
   * Build the query with `q` (values quoted and escaped for you), or pass the query text itself.
   */
  search(query: SearchQuery | string, params: { limit?: number } = {}): AsyncGenerator<Customer> {
    return walk(fetchPage<Customer>(this.http, `${this.path}/search${queryString({ query: String(query), limit: params.limit })}`), false);
  }

  /** The customer with this email (trimmed, any case), or null. */
  async findByEmail(email: string): Promise<Customer | null> {
    return (await this.page({ email, limit: 1 })).data[0] ?? null;
  }
}

export class WebhookEndpoints extends Collection<WebhookEndpoint, ListParams> {
  constructor(http: Http) {
    super(http, "/v1/webhook-endpoints");
  }

  async create(params: CreateWebhookEndpoint, options: CallOptions = {}): Promise<WebhookEndpoint> {
    return (await this.http.call<WebhookEndpoint>("POST", this.path, params, options)).body;
  }

  async update(id: string, changes: UpdateWebhookEndpoint, options: CallOptions = {}): Promise<WebhookEndpoint> {
    return (await this.http.call<WebhookEndpoint>("PATCH", `${this.path}/${encodeURIComponent(id)}`, changes, options)).body;
  }

  /** Sends the endpoint a webhook.setup event now (a test event); it is listed and can be resent like any other. */
  async sendTestEvent(id: string, options: CallOptions = {}): Promise<WebhookEvent> {
    return (await this.http.call<WebhookEvent>("POST", `${this.path}/${encodeURIComponent(id)}/test`, undefined, options)).body;
  }
}

export type WebhookAttemptList = Schemas["WebhookAttemptList"];
export type WebhookEventRecovery = Schemas["WebhookEventRecovery"];
export type RecoverWebhookEvents = Schemas["RecoverWebhookEventsRequest"];

/** The filters of the events list: eventName, delivery state, customer (entityId), time range (ISO 8601). */
export interface EventListParams extends ListParams {
  eventName?: WebhookEvent["eventName"];
  delivery?: "pending" | "delivered" | "failed" | "none";
  entityId?: string;
  createdFrom?: string;
  createdBefore?: string;
}

export class WebhookEvents extends Collection<WebhookEvent, EventListParams> {
  constructor(http: Http) {
    super(http, "/v1/webhook-events");
  }

  /** The event's delivery attempts, newest first, and its delivery state (pending, delivered, failed; next attempt). */
  async attempts(id: string): Promise<WebhookAttemptList> {
    return (await this.http.call<WebhookAttemptList>("GET", `${this.path}/${encodeURIComponent(id)}/attempts`)).body;
  }

  /** Sends the event again now (also after it failed for good); the attempt shows up in `attempts(id)`. */
  async resend(id: string, options: CallOptions = {}): Promise<WebhookEvent> {
    return (await this.http.call<WebhookEvent>("POST", `${this.path}/${encodeURIComponent(id)}/resend`, undefined, options)).body;
  }

  /**
   * Sends again every event that failed for good since `since` (optionally of one endpoint): at most 1,000 a call,
   * `hasMore` says to call again. `{ dryRun: true }` only counts them. Retried safely: one Idempotency-Key per call.
   */
  async recover(params: RecoverWebhookEvents, options: CallOptions = {}): Promise<WebhookEventRecovery> {
    return (await this.http.call<WebhookEventRecovery>("POST", `${this.path}/recover`, params, options)).body;
  }
}

export class Vatly {
  readonly customers: Customers;
  readonly webhookEndpoints: WebhookEndpoints;
  readonly webhookEvents: WebhookEvents;
  private readonly http: Http;

  constructor(options: ClientOptions) {
    this.http = new Http(options);
    this.customers = new Customers(this.http);
    this.webhookEndpoints = new WebhookEndpoints(this.http);
    this.webhookEvents = new WebhookEvents(this.http);
  }

  /** The X-D1-Bookmark the next call will carry (the latest one received). */
  get bookmark(): string | null {
    return this.http.latestBookmark;
  }
}
