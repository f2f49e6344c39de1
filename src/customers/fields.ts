// The Customer's writable fields, validated alike on create and update. Lengths count characters (Unicode code
// points), as Laravel's validator (Vatly's) does: an emoji is one character.
import * as v from "valibot";
import { characters, stated, WELL_FORMED, WELL_FORMED_NOT_BLANK } from "../lib/text";

// ASCII addresses only: a dot-atom local part, and a domain of LDH labels whose top level is letters or Punycode.
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const TOP_LABEL = "(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{0,58}[A-Za-z0-9])";
const EMAIL = new RegExp(`^(?=[^@]{1,64}@)${ATOM}(?:\\.${ATOM})*@(?:${LABEL}\\.)+${TOP_LABEL}$`);
const ASCII = /^[\x20-\x7e]*$/;
const INVALID_EMAIL = "The email field must be a valid email address.";

export const Email = v.pipe(
  v.string((issue) => (issue.input == null ? "The email field is required." : "The email field must be a string.")),
  v.description("Leading and trailing whitespace is trimmed first. ASCII only: internationalized domains in Punycode."),
  v.trim(),
  v.nonEmpty("The email field is required."),
  v.maxLength(254, "The email field must not be greater than 254 characters."),
  v.regex(
    EMAIL,
    (issue) => ASCII.test(issue.input as string)
      ? INVALID_EMAIL
      : `${INVALID_EMAIL} Internationalized domains must be sent in Punycode (e.g. user@xn--mller-kva.de).`,
  ),
);

export const Name = v.nullable(
  v.pipe(
    v.string("The name field must be a string."),
    v.description("Leading and trailing whitespace is trimmed first; null means no name."),
    v.trim(),
    v.nonEmpty("The name field must not be empty."),
    characters(1, 255, "The name field must not be greater than 255 characters."),
    stated(v.check((s: string) => s.isWellFormed(), "The name field must be valid Unicode text."), { pattern: WELL_FORMED_NOT_BLANK }),
  ),
);

const NOT_AN_OBJECT = "The metadata field must be an object.";
export const RESERVED_KEYS = ["__proto__", "constructor", "prototype"];
export const MAX_METADATA_KEYS = 50;

const MetadataKey = v.pipe(
  v.string(),
  characters(1, 40, "Metadata keys must be between 1 and 40 characters."),
  stated(v.check((s: string) => s.isWellFormed(), "Metadata keys must be valid Unicode text."), { pattern: WELL_FORMED }),
  // Refused by the rawCheck below (valibot's record() would drop them silently); stated here for the OpenAPI document.
  stated(v.check((s: string) => !RESERVED_KEYS.includes(s)), { not: { enum: RESERVED_KEYS } }),
);

const MetadataValue = v.pipe(
  v.string("Each metadata value must be a string."),
  characters(0, 500, "Each metadata value must not be greater than 500 characters."),
  stated(v.check((s: string) => s.isWellFormed(), "Each metadata value must be valid Unicode text."), { pattern: WELL_FORMED }),
);

const isObject = (m: unknown): m is Record<string, unknown> => typeof m === "object" && m !== null && !Array.isArray(m);
const reservedKeyIn = (m: Record<string, unknown>) => RESERVED_KEYS.find((k) => Object.hasOwn(m, k));

/** An object of metadata whose values pass `value`; reserved keys are named in the error as any other bad key. */
function metadataObject<TValue>(value: v.GenericSchema<unknown, TValue>, maxKeys: number | null): v.GenericSchema<unknown, Record<string, TValue>> {
  return v.pipe(
    v.custom<Record<string, unknown>>(isObject, NOT_AN_OBJECT),
    v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
      const input = dataset.value as Record<string, unknown>;
      const key = dataset.typed ? reservedKeyIn(input) : undefined;
      if (key !== undefined) {
        addIssue({ message: `The metadata key ${key} is reserved.`, path: [{ type: "object", origin: "value", input, key, value: input[key] }] });
      }
    }),
    v.record(MetadataKey, value),
    ...(maxKeys === null ? [] : [v.maxEntries(maxKeys, `The metadata field must not have more than ${maxKeys} keys.`)] as const),
  ) as unknown as v.GenericSchema<unknown, Record<string, TValue>>;
}

/**
 * Metadata, or null. PHP's json_encode writes an empty `'metadata' => []` as `[]`: it means no keys, so it reads as
 * {}; the OpenAPI document states it as accepted too (`alsoAccepts`, see openapi/describe.ts).
 */
function nullableMetadata<T extends v.GenericSchema>(object: T) {
  const emptyArrayAsObject = (input: unknown) => (Array.isArray(input) && input.length === 0 ? {} : input);
  return Object.assign(v.nullable(v.pipe(v.unknown(), v.transform(emptyArrayAsObject), object)), { alsoAccepts: { type: "array", maxItems: 0 } });
}

/** Create: an object of at most 50 string values, or null (stored as {}). */
export const Metadata = v.optional(nullableMetadata(metadataObject(MetadataValue, MAX_METADATA_KEYS)));
/** Update: a JSON Merge Patch of the metadata: a string sets a key, null removes it; the 50-key limit applies to the result. */
export const MetadataPatch = nullableMetadata(metadataObject(v.nullable(MetadataValue), null));
