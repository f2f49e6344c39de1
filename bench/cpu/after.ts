// The harness Worker around the current handler (src/index.ts).
import after from "../../src/index";
import { harnessFor } from "./harness";

export default harnessFor(after);
