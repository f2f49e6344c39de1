// Text rules shared by every resource's validation.
import * as v from "valibot";

/**
 * Well-formed Unicode (no unpaired surrogate), as a JSON Schema pattern (ECMA-262 without the u flag), so that the
 * OpenAPI document says what `isWellFormed()` checks.
 */
export const WELL_FORMED = "^(?:[^\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff])*$";
/** The same, for a text that must also contain something other than whitespace (it is trimmed before use). */
export const WELL_FORMED_NOT_BLANK = "^(?=[\\s\\S]*\\S)(?:[^\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff])*$";

/** A check that the OpenAPI document states as the given JSON Schema fragment (see overrideAction in openapi.ts). */
export const stated = <T extends object>(action: T, jsonSchema: object) => Object.assign(action, { jsonSchema });

/** A length check in characters, stated in the OpenAPI document as minLength/maxLength (JSON Schema counts code points too). */
export function characters(min: number, max: number, message: string) {
  const count = (s: string) => {
    let n = 0;
    for (const _ of s) n++;
    return n;
  };
  return stated(v.check<string, string>((s) => { const n = count(s); return n >= min && n <= max; }, message), { minLength: min, maxLength: max });
}
