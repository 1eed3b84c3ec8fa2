// The enrollment QR code, drawn with half blocks (two modules per character row) by qrcode-terminal.

export async function renderQr(text: string): Promise<string> {
  const { default: qrcode } = await import('qrcode-terminal');
  return new Promise((resolve) => qrcode.generate(text, { small: true }, (qr: string) => resolve(qr.replace(/\n+$/, ''))));
}

export function qrWidth(qr: string): number {
  return Math.max(...qr.split('\n').map((line) => [...line].length));
}

/** The terminal's width, or the COLUMNS a caller set, or 80 when output is not a terminal. */
export function terminalColumns(): number {
  return process.stdout.columns || Number(process.env.COLUMNS) || 80;
}
