// Text rules shared by every resource's validation.
import * as v from "valibot";

/** A length check in characters, stated in the OpenAPI document as minLength/maxLength (JSON Schema counts code points too). */
export function characters(min: number, max: number, message: string) {
  const count = (s: string) => {
    let n = 0;
    for (const _ of s) n++;
    return n;
  };
  return Object.assign(v.check<string, string>((s) => { const n = count(s); return n >= min && n <= max; }, message), {
    jsonSchema: { minLength: min, maxLength: max },
  });
}
