import { describe, expect, it } from "vitest";
import { call, createCustomer, expectError, newKey, type ListBody } from "../helpers";

describe("isolation: two accounts x two modes", () => {
  it("never shows a customer outside the caller's account and mode, by get, list or cursor", async () => {
    const a = await newKey({ mode: "test" });
    const scopes = [a, await newKey({ accountId: a.accountId, mode: "live" }), await newKey({ mode: "test" })];
    scopes.push(await newKey({ accountId: scopes[2]!.accountId, mode: "live" }));
    const owned = [] as string[][];
    for (const scope of scopes) {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await createCustomer(scope.key, { email: `same${i}@example.com` })).id);
      owned.push(ids);
    }

    for (const [i, caller] of scopes.entries()) {
      const list = (await (await call("/v1/customers?limit=100", { key: caller.key })).json()) as ListBody;
      expect(list.data.map((c) => c.id).sort()).toEqual([...owned[i]!].sort());
      expect(list.data.every((c) => c.testmode === (caller.mode === "test"))).toBe(true);

      for (const [j, ids] of owned.entries()) {
        if (i === j) continue;
        for (const id of ids) {
          await expectError(await call(`/v1/customers/${id}`, { key: caller.key }), 404, "Customer not found.");
          for (const cursor of ["startingAfter", "endingBefore"]) {
            const error = await expectError(await call(`/v1/customers?${cursor}=${id}`, { key: caller.key }), 422);
            // The same answer as for an id that exists nowhere: nothing to probe.
            expect(error.errors).toEqual({ [cursor]: [`No customer with the id given as ${cursor} exists.`] });
          }
        }
      }
    }
  });
});
