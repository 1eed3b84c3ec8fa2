// `npm run bench`: performance figures as ratios against a baseline measured in the same run on the
// same machine. Each bench module exports `name` and `run()` resolving to lines of text.
import { readdirSync } from 'node:fs';

const only = process.argv[2];
const files = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => !only || f.includes(only))
  .sort();
for (const file of files) {
  const bench = await import(new URL(file, import.meta.url));
  console.log(`## ${bench.name}`);
  for (const line of await bench.run()) console.log(line);
  console.log('');
}
