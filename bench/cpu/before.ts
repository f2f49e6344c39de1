// The harness Worker around the handler of BEFORE_COMMIT (bench/.out/before, see bench/shared/harness.ts).
import before from "../.out/before/src/index";
import { hmacSha256, toHex } from "../../src/lib/crypto";
import { BENCH_IDEMPOTENCY_SECRET, harnessFor } from "./harness";

export default harnessFor(before, (request) => toHex(hmacSha256(BENCH_IDEMPOTENCY_SECRET, request)));
