// Ids and times: what the hot path computes once and then reuses must stay exactly what it computed.
import { describe, expect, it } from "vitest";
import { idTime, isoSeconds, newId } from "../src/lib/ids";

describe("newId", () => {
  it("orders ids minted within one millisecond by creation, with carries, and encodes that millisecond", () => {
    const now = Date.UTC(2099, 0, 1); // later than any id minted before in this isolate
    const ids = Array.from({ length: 5000 }, () => newId("cus_", now)); // ~80 carries out of the last character
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => /^cus_[0-9A-Za-z]{22}$/.test(id) && idTime(id) === now)).toBe(true);
    const later = newId("cus_", now + 1);
    expect(idTime(later)).toBe(now + 1);
    expect(later > ids.at(-1)!).toBe(true);
  });
});

describe("isoSeconds", () => {
  it("answers each time's own second, whatever it answered before", () => {
    const t = Date.UTC(2026, 10, 26, 17, 30, 59, 999);
    expect(isoSeconds(t)).toBe("2026-11-26T17:30:59Z");
    expect(isoSeconds(t + 1)).toBe("2026-11-26T17:31:00Z");
    expect(isoSeconds(t - 999)).toBe("2026-11-26T17:30:59Z");
    expect(isoSeconds(0)).toBe("1970-01-01T00:00:00Z");
  });
});
