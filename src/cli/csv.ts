// CSV for mailing systems (issue #20 §5): RFC 4180 quoting, and no cell a spreadsheet would run as a
// formula (OWASP "CSV injection"): a cell starting with = + - @ (or a tab or carriage return, which
// some spreadsheets skip before looking) is prefixed with a single quote.

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return `"${safe.replace(/"/g, '""')}"`;
}

/** The lines of a CSV document: a header row and the rows, every cell quoted (RFC 4180 §2). */
export function csvLines(header: string[], rows: string[][]): string[] {
  return [header, ...rows].map((r) => r.map(csvCell).join(','));
}
