// The harness Worker around the handler from before the request-path redesign (bench/.out/before, see run.ts).
import before from "../.out/before/src/index";
import { harnessFor } from "./harness";

export default harnessFor(before);
