// The harness Worker around the current handler (src/index.ts).
import after from "../../src/index";
import { hmacSha256, toHex } from "../../src/lib/crypto";
import { BENCH_IDEMPOTENCY_SECRET, harnessFor } from "./harness";

export default harnessFor(after, (request) => toHex(hmacSha256(BENCH_IDEMPOTENCY_SECRET, request)));
