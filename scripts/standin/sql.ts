// Two ways to cut SQL text into statements. `statements` reads it as SQLite does (comments are comments, a trigger's
// body runs to the END that closes its BEGIN, CASE ... END nested inside). `splitLikeD1` is how D1's REST `/query` is
// reported to cut it (cloudflare/workers-sdk#4713, #4767): quotes are tracked but `--` and `/* */` are not read as
// comments (a quote inside one opens a string), and inside a trigger body the first `END` followed by `;` ends the
// trigger, a CASE's included. The stand-in cuts by the second and checks each piece by the first.

type Token = { kind: "word" | "quoted" | "comment" | "semicolon" | "other"; text: string; end: number };

const QUOTES: Record<string, string> = { "'": "'", '"': '"', "`": "`", "[": "]" };

/** The tokens of `sql`; with `comments: false`, `--` and `/*` are plain characters. */
function tokens(sql: string, comments: boolean): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < sql.length; ) {
    const c = sql[i]!;
    const start = i;
    if (comments && sql.startsWith("--", i)) {
      const nl = sql.indexOf("\n", i);
      i = nl === -1 ? sql.length : nl + 1;
      out.push({ kind: "comment", text: sql.slice(start, i), end: i });
    } else if (comments && sql.startsWith("/*", i)) {
      const close = sql.indexOf("*/", i + 2);
      i = close === -1 ? sql.length : close + 2;
      out.push({ kind: "comment", text: sql.slice(start, i), end: i });
    } else if (QUOTES[c]) {
      const close = QUOTES[c]!;
      i++;
      for (; i < sql.length; i++) {
        if (sql[i] === close) {
          if (close !== "]" && sql[i + 1] === close) i++; // a doubled quote is the quote itself
          else break;
        }
      }
      i = Math.min(i + 1, sql.length);
      out.push({ kind: "quoted", text: sql.slice(start, i), end: i });
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < sql.length && /[A-Za-z0-9_$]/.test(sql[i]!)) i++;
      out.push({ kind: "word", text: sql.slice(start, i), end: i });
    } else {
      i++;
      if (!/\s/.test(c)) out.push({ kind: c === ";" ? "semicolon" : "other", text: c, end: i });
    }
  }
  return out;
}

const isWord = (t: Token | undefined, w: string) => t?.kind === "word" && t.text.toUpperCase() === w;

/** Whether the tokens so far (of one statement) begin `CREATE [TEMP|TEMPORARY] TRIGGER`. */
const opensTrigger = (ts: Token[]) => {
  const words = ts.filter((t) => t.kind !== "comment").slice(0, 3).map((t) => t.text.toUpperCase());
  return words[0] === "CREATE" && (words[1] === "TRIGGER" || (/^TEMP(ORARY)?$/.test(words[1] ?? "") && words[2] === "TRIGGER"));
};

/** Cuts `sql` into pieces at each `;` outside quotes and trigger bodies; `strictEnd`: the first `END ;` closes a body. */
function cut(sql: string, comments: boolean, strictEnd: boolean): string[] {
  const pieces: string[] = [];
  const ts = tokens(sql, comments);
  let from = 0;
  let current: Token[] = [];
  let depth = 0; // inside a trigger: BEGIN ... END, CASE ... END
  for (let k = 0; k < ts.length; k++) {
    const t = ts[k]!;
    if (t.kind === "semicolon" && depth === 0) {
      pieces.push(sql.slice(from, t.end - 1));
      from = t.end;
      current = [];
      continue;
    }
    current.push(t);
    if (!opensTrigger(current)) continue;
    if (isWord(t, "BEGIN") || (depth > 0 && isWord(t, "CASE") && !strictEnd)) depth++;
    else if (depth > 0 && isWord(t, "END")) {
      if (!strictEnd) depth--;
      else if (ts[k + 1]?.kind === "semicolon") depth = 0;
    }
  }
  pieces.push(sql.slice(from));
  return pieces;
}

/** Whether a text holds anything but whitespace and comments. */
export const holdsStatement = (sql: string) => tokens(sql, true).some((t) => t.kind !== "comment");

/** The statements of `sql` as SQLite reads them (comments kept with the statement they precede). */
export const statements = (sql: string): string[] => cut(sql, true, false).filter(holdsStatement);

/** The pieces D1's `/query` is reported to make of `sql` (empty ones dropped, comment-only ones kept). */
export const splitLikeD1 = (sql: string): string[] => cut(sql, false, true).filter((p) => p.trim() !== "");
